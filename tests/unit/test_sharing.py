"""The rules of sharing: what an inline query asks for, video links, and the paging over the
owner's videos (against a real SQLite store)."""

from __future__ import annotations

import pytest

from bot.jobs import JobKind, JobState, NewJob, Requester
from bot.keyboards import reference
from bot.metrics import Metrics
from bot.sharing import Sharing, Wanted, deep_link_payload, job_of_payload
from bot.store import SqliteStore


def test_references_and_links_round_trip():
    assert reference(12) == "#12" and deep_link_payload(12) == "v12"
    assert job_of_payload("v12") == 12
    for forged in ("v", "12", "v-1", "v1x", "V12", "v٣", "v" + "9" * 20, "v12 ", "x12"):
        assert job_of_payload(forged) is None, forged


def test_a_query_is_references_and_words_matched_without_case():
    wanted = Wanted.parse("  #12 Fox  ЛИСА #x ")
    assert wanted.ids == frozenset({12})
    assert wanted.words == ("fox", "лиса", "#x")
    assert Wanted.parse("#٣").ids == frozenset()  # only ASCII digits make a reference


@pytest.fixture
async def store(tmp_path):
    store = await SqliteStore.open(str(tmp_path / "bot.db"))
    yield store
    await store.close()


async def delivered(store, user_id: int, prompt: str) -> int:
    job = await store.create_job(
        NewJob(Requester(user_id, user_id, 1), JobKind.TEXT, prompt, "sandbox")
    )
    await store.transition(job.id, JobState.SUCCEEDED, result_url="https://cdn.example/v.mp4")
    await store.transition(job.id, JobState.DELIVERED, video_file_id=f"VIDEO-{job.id}")
    return int(job.id)


async def test_pages_go_on_where_the_last_answer_stopped(store):
    ids = [await delivered(store, 1, f"fox {n}" if n % 3 == 0 else f"owl {n}") for n in range(9)]
    await delivered(store, 2, "fox of someone else")
    sharing = Sharing(store, Metrics(), page_size=2)
    page = await sharing.page(1, "FOX", "")
    assert [j.id for j in page.jobs] == [ids[6], ids[3]] and page.next_offset == str(ids[3])
    page = await sharing.page(1, "fox", page.next_offset)
    assert [j.id for j in page.jobs] == [ids[0]] and page.next_offset == ""
    assert (await sharing.page(1, "", "abc")).jobs == []  # a forged offset lists nothing
    assert (await sharing.page(1, "", "-5")).jobs == []
    referenced = await sharing.page(1, f"#{ids[4]} #{ids[8] + 100}", "")
    assert [j.id for j in referenced.jobs] == [ids[4]]
    assert (await sharing.page(2, f"#{ids[4]}", "")).jobs == []  # not theirs


async def test_a_long_scan_stops_and_the_next_page_goes_on(store, monkeypatch):
    monkeypatch.setattr("bot.sharing.SCAN_BATCH", 2)
    monkeypatch.setattr("bot.sharing.SCAN_LIMIT", 4)
    ids = [await delivered(store, 1, "fox")]  # the oldest is the only fox
    ids += [await delivered(store, 1, "owl") for _ in range(6)]
    sharing = Sharing(store, Metrics(), page_size=5)
    page = await sharing.page(1, "fox", "")
    assert page.jobs == [] and page.next_offset == str(ids[3])  # read 4 rows, more remain
    page = await sharing.page(1, "fox", page.next_offset)
    assert [j.id for j in page.jobs] == [ids[0]] and page.next_offset == ""


def test_only_well_formed_results_count_as_shares():
    metrics = Metrics()
    sharing = Sharing(None, metrics)  # type: ignore[arg-type]
    for result_id in ("v12", "x", "v", "v12; DROP"):
        sharing.chosen(result_id)
    assert metrics.registry.get_sample_value("kling_bot_shares_total") == 1.0


async def test_only_the_owners_delivered_file_can_be_sent_again(store):
    sharing = Sharing(store, Metrics())
    video = await delivered(store, 1, "a fox")
    linked = await store.create_job(NewJob(Requester(1, 1, 1), JobKind.TEXT, "big", "sandbox"))
    await store.transition(linked.id, JobState.SUCCEEDED, result_url="https://cdn.example/b")
    await store.transition(linked.id, JobState.DELIVERED)  # too large: sent as its link
    running = await store.create_job(NewJob(Requester(1, 1, 1), JobKind.TEXT, "owl", "sandbox"))

    job = await sharing.own_video(1, video, "en")
    assert not isinstance(job, str) and job.delivered_file is not None
    assert await sharing.own_video(2, video, "en") == (
        "That video belongs to someone else: only the person who made it can open it."
    )
    assert "went out as a link" in str(await sharing.own_video(1, linked.id, "en"))
    assert await sharing.own_video(1, running.id, "en") == (
        f"There is no finished video #{running.id} to send."
    )
    assert await sharing.own_video(1, 999, "ru") == "Готового видео №999 нет."
