"""The message catalogue is complete in every language, and texts compose as users see them."""

from __future__ import annotations

import ast
import string
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.i18n import CATALOGUES, EN, RU, Reason, language, messages
from bot.jobs import Job, JobKind, JobState, Requester
from bot.providers.base import Capabilities, VideoRequest, unsupported


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def all_templates(catalogue) -> dict[str, str]:
    found = {}
    for f in fields(catalogue):
        value = getattr(catalogue, f.name)
        if isinstance(value, str):
            found[f.name] = value
        else:
            found.update({f"{f.name}.{key}": text for key, text in value.items()})
    return found


@pytest.mark.parametrize("lang", [lang for lang in CATALOGUES if lang != "en"])
def test_every_language_has_every_message_with_the_same_fields(lang):
    english, other = all_templates(EN), all_templates(CATALOGUES[lang])
    assert english.keys() == other.keys()
    for key, template in english.items():
        assert placeholders(other[key]) == placeholders(template), key
        assert other[key].strip(), key


def test_commands_fit_telegram_rules():
    for catalogue in CATALOGUES.values():
        for name, description in catalogue.commands.items():
            assert name.islower() and 1 <= len(description) <= 256


@pytest.mark.parametrize(
    ("code", "lang"),
    [("ru", "ru"), ("ru-RU", "ru"), ("en", "en"), ("de", "en"), (None, "en"), ("", "en")],
)
def test_language_from_telegram_code(code, lang):
    assert language(code) == lang


def test_unknown_stored_language_reads_english():
    assert messages("xx") is EN and messages(None) is EN and messages("ru") is RU


def test_reasons_render_in_the_readers_language_and_survive_storage():
    refusal = Reason.of("cannot_make", reason=Reason.of("choose_model", choices="kling-v1"))
    assert str(refusal) == "I can't make that video: choose a model among kling-v1."
    russian = "Не получится сделать это видео: выберите модель из списка: kling-v1."
    assert refusal.text(RU) == russian
    assert Reason.from_json(refusal.to_json()) == refusal
    assert Reason.from_json(None) is None
    assert Reason.from_json('{"key": "a_key_we_dropped", "fields": {}}') is None
    with pytest.raises(ValueError, match="no message"):
        Reason.of("no_such_message")


def reasons_in_the_code() -> list[tuple[str, set[str], str]]:
    """(key, field names, where) of every `Reason.of(...)` and `ImageRejected(...)` written
    in bot/ and handlers/: keys must be literal strings."""
    found = []
    root = Path(__file__).parents[2]
    for path in [*root.glob("bot/**/*.py"), *root.glob("handlers/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name not in ("Reason.of", "ImageRejected") or not node.args:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            key = node.args[0]
            assert isinstance(key, ast.Constant) and isinstance(key.value, str), where
            found.append((key.value, {k.arg for k in node.keywords if k.arg}, where))
    return found


def test_every_reason_the_code_gives_exists_in_every_language_with_its_fields():
    used = reasons_in_the_code()
    assert len(used) > 20  # the scan found the reasons
    for key, names, where in used:
        for lang, catalogue in CATALOGUES.items():
            template = getattr(catalogue, key, None)
            assert isinstance(template, str), f"{where}: {key!r} missing in {lang}"
            assert placeholders(template) == names, f"{where}: {key!r} fields in {lang}"


def test_provider_refusals_read_in_russian():
    caps = Capabilities(kinds=frozenset({JobKind.TEXT}), durations=frozenset({5}))
    request = VideoRequest(job_id=1, kind=JobKind.TEXT, prompt="x", duration=10)
    reason = unsupported(caps, request)
    assert reason is not None
    assert reason.text(RU) == "выберите длительность из списка: 5 с"
    long = VideoRequest(job_id=1, kind=JobKind.TEXT, prompt="x" * 2501)
    assert unsupported(caps, long) == Reason.of("prompt_too_long", limit=2500)


def job(**changes: Any) -> Job:
    values: dict[str, Any] = dict(
        id=3,
        requester=Requester(1, 1, 10),
        kind=JobKind.TEXT,
        prompt="a fox",
        provider="sandbox",
        params={},
        input_file_ids=(),
        state=JobState.RUNNING,
        provider_task_id="t",
        status_message_id=11,
        progress=35,
        result_url=None,
        error=None,
        delivery_attempts=0,
        next_attempt_at=None,
        created_at=1000.0,
        updated_at=1010.0,
    )
    values.update(changes)
    return Job(**values)


def test_status_while_generating():
    params = {"model": "kling-v1-6", "duration": 10, "aspect_ratio": "9:16", "mode": "pro"}
    text = texts.status(job(params=params), "apiframe is unavailable, trying sandbox", now=1075)
    assert text.splitlines() == [
        "🎬 Video #3 · sandbox",
        "⚙️ Generating: 35%",
        "▰▰▰▰▱▱▱▱▱▱",
        "⏱ 1:15",
        "kling-v1-6 · 10 s · 9:16 · pro",
        "(apiframe is unavailable, trying sandbox)",
    ]


def test_status_when_done_counts_the_time_it_took():
    text = texts.status(job(state=JobState.DELIVERED, updated_at=1000 + 3725), now=99999)
    assert text.splitlines() == ["🎬 Video #3 · sandbox", "✅ Done", "⏱ 1:02:05"]


def test_progress_bar():
    assert texts.progress_bar(0) == "▱" * 10
    assert texts.progress_bar(100) == "▰" * 10
    assert texts.progress_bar(54) == "▰" * 5 + "▱" * 5


def test_caption_keeps_the_settings_and_fits_1024():
    params = {"model": "kling-v1-6", "duration": 5, "aspect_ratio": "1:1", "lang": "en"}
    long = job(prompt="x" * 5000, params=params, requester=Requester(1, -5, 10, mention="@al"))
    caption = texts.caption(long)
    assert len(caption) == texts.CAPTION_LIMIT
    assert caption.startswith("@al: xxx") and caption.endswith("…\n\nkling-v1-6 · 5 s · 1:1")
    assert texts.caption(job()) == "a fox"


def test_job_list_and_details():
    jobs = [job(id=2, state=JobState.QUEUED, prompt="y" * 60), job(id=1)]
    listing = texts.job_list(jobs, now=1030, page=1, pages=3)
    assert listing.splitlines() == [
        "Your recent videos:",
        "#2 · queued · just now · " + "y" * 39 + "…",
        "#1 · running · just now · a fox",
        "",
        "Page 1 of 3",
    ]
    failed = job(
        state=JobState.FAILED,
        error=EN.unavailable,
        reason=Reason.of("unavailable"),
        params={"duration": 5},
    )
    details = texts.job_details(failed, now=1000 + 7200, lang="ru")
    assert details.startswith("🎬 Видео №3\n❌ Не получилось · sandbox · 2 ч назад\n\na fox\n5 с")
    assert details.endswith(RU.unavailable)
