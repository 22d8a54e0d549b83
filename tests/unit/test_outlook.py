"""The status message's outlook: the median of this provider's and model's recent videos, the
user's place in line, and how the status message words them (English and Russian)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot import texts
from bot.jobs import Job, JobKind, JobState
from bot.outlook import CACHE_SECONDS, Outlook, Outlooks
from bot.providers.base import Capabilities
from tests.unit.test_i18n_and_texts import job

CAPS = {"kling": Capabilities(kinds=frozenset({JobKind.TEXT}), models=("kling-v1-6", "kling-v1"))}


class Recent:
    """An offline `OutlookStore`: delivered durations by provider, open jobs by user."""

    def __init__(self, rows: dict[str, list[tuple[Any, float]]], open_ids: list[int]) -> None:
        self.rows = rows
        self.open_ids = open_ids
        self.queries = 0

    async def delivered_durations(self, provider: str, limit: int) -> list[tuple[Any, float]]:
        self.queries += 1
        return self.rows.get(provider, [])[:limit]

    async def open_jobs(self, user_id: int) -> list[Job]:
        return [job(id=i, provider="kling") for i in sorted(self.open_ids, reverse=True)]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_median_of_this_models_videos_and_the_place_in_line():
    rows = [("kling-v1-6", 100.0), (None, 200.0), ("kling-v1", 999.0), ("kling-v1-6", 400.0)]
    store = Recent({"kling": rows}, open_ids=[3, 7, 9])
    outlooks = Outlooks(store, CAPS)
    # None is the provider's default model (kling-v1-6): 100, 200, 400 -> 200
    outlook = await outlooks.of(job(id=7, provider="kling", params={}))
    assert outlook == Outlook(usual=200.0, place=2, waiting=3)
    other = await outlooks.of(job(id=9, provider="kling", params={"model": "kling-v1"}))
    assert other == Outlook(usual=None, place=3, waiting=3)  # one video is no "usually"


async def test_medians_are_kept_a_minute_and_finished_jobs_get_none():
    clock = Clock()
    store = Recent({"kling": [("kling-v1-6", 60.0)] * 3}, open_ids=[1])
    outlooks = Outlooks(store, CAPS, clock=clock)
    first = job(id=1, provider="kling")
    assert await outlooks.of(first) == Outlook(usual=60.0)  # alone: no place in line
    await outlooks.of(first)
    assert store.queries == 1
    clock.now = CACHE_SECONDS + 1
    await outlooks.of(first)
    assert store.queries == 2
    assert await outlooks.of(replace(first, state=JobState.DELIVERED)) == Outlook()


def test_the_status_says_how_long_it_usually_takes_and_the_place_in_line():
    running = job(created_at=1000.0)
    en = texts.status(running, now=1030.0, outlook=Outlook(usual=210.0, place=2, waiting=3))
    assert "⌛ usually ready in about 3 min" in en
    assert "🔢 2 of your 3 videos in progress" in en
    soon = texts.status(running, now=1030.0, outlook=Outlook(usual=60.0))
    assert "⌛ usually ready in under a minute" in soon and "🔢" not in soon
    late = texts.status(running, now=1400.0, outlook=Outlook(usual=150.0))
    assert "⌛ taking longer than usual (about 2 min)" in late
    ru = texts.status(
        replace(running, params={"lang": "ru"}),
        now=1030.0,
        outlook=Outlook(usual=210.0, place=2, waiting=3),
    )
    assert "⌛ обычно готово примерно через 3 мин" in ru
    assert "🔢 2-е из 3 ваших видео в работе" in ru
    done = texts.status(replace(running, state=JobState.DELIVERED), outlook=Outlook(usual=9.0))
    assert "⌛" not in done
