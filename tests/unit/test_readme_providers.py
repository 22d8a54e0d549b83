"""The README's provider table says what the capabilities in code say, feature by feature."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.jobs import JobKind
from bot.providers import REGISTRY
from bot.providers.base import Capabilities

README = Path(__file__).resolve().parents[2] / "README.md"


def provider_table() -> dict[str, dict[str, str]]:
    """The "## Providers" table: provider name -> column header -> cell."""
    lines = README.read_text(encoding="utf-8").split("\n## Providers\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    header, body = rows[0], rows[2:]
    return {row[0].strip("`"): dict(zip(header, row, strict=True)) for row in body}


def kinds_named(cell: str) -> frozenset[JobKind]:
    """The kinds a cell names before its first colon ("text, photo: ..." or "text: ...")."""
    named = cell.split(":", 1)[0]
    words = {"text": JobKind.TEXT, "photo": JobKind.IMAGE}
    return frozenset(kind for word, kind in words.items() if word in named.split(", "))


def test_the_table_lists_every_provider_once():
    assert sorted(provider_table()) == sorted(REGISTRY)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_each_feature_column_matches_the_capabilities(name):
    row, caps = provider_table()[name], REGISTRY[name].capabilities
    assert row["text"].startswith("yes") == (JobKind.TEXT in caps.kinds)
    assert (row["photo"] != "no") == (JobKind.IMAGE in caps.kinds)
    assert (row["photo"] == "with `PUBLIC_URL`") == caps.image_by_url_only
    assert row["end frame"].startswith("yes") == caps.end_frame
    assert_camera(row["camera"], caps)
    assert row["sound"].startswith("no") == (not caps.sound)
    assert all(f"`{model}` {mode}" in row["sound"] for model, mode in caps.sound)
    assert row["effects"].startswith("yes") == bool(caps.effect_names)
    assert row["effects"].startswith("yes") == (JobKind.EFFECT in caps.kinds)
    assert row["references"].startswith("no") == (JobKind.REFS not in caps.kinds)
    assert all(f"`{model}` {mode}" in row["references"] for model, mode in caps.refs)
    assert row["extend"].startswith("yes") == caps.extends == (JobKind.EXTEND in caps.kinds)


def assert_camera(cell: str, caps: Capabilities) -> None:
    offer = caps.camera
    if offer is None:
        assert cell.startswith("no")
        return
    assert kinds_named(cell) == offer.kinds
    one_axis = "one axis" in cell
    assert one_axis == bool(offer.one_axis)
    if offer.models is not None:
        assert all(model in cell for model, _ in offer.models)
    if offer.duration is not None:
        assert f"{offer.duration} s" in cell
    if offer.mode is not None:
        assert offer.mode in cell
