"""Settings: stored values read safely, merged in the right order, fitted to a provider; and the
provider order for a request (preferred first, end frames only where they work)."""

from __future__ import annotations

from bot.jobs import JobKind
from bot.preferences import Preferences, effective, owner_id
from bot.providers.base import Capabilities
from bot.routing import NoEndFrame, order
from bot.store import SqliteStore


def test_stored_values_of_the_wrong_type_are_ignored():
    prefs = Preferences.from_dict(
        {"model": "kling-v1", "duration": "10", "as_file": 1, "mode": None, "other": "x"}
    )
    assert prefs == Preferences(model="kling-v1")
    assert Preferences.from_dict({"duration": True}).duration is None


def test_job_params_leave_out_the_provider_and_unset_values():
    prefs = Preferences(duration=10, provider="apiframe", as_file=True, negative_prompt="fog")
    assert prefs.job_params() == {"duration": 10, "negative_prompt": "fog", "as_file": True}
    assert Preferences(as_file=None).job_params() == {}


def test_group_choices_win_over_the_users():
    group = Preferences(duration=10)
    user = Preferences(duration=5, aspect_ratio="9:16")
    assert group.over(user) == Preferences(duration=10, aspect_ratio="9:16")


async def test_effective_reads_the_group_then_the_user(tmp_path):
    store = await SqliteStore.open(tmp_path / "bot.db")
    await store.put_preferences(7, {"duration": 5, "aspect_ratio": "9:16"})
    await store.put_preferences(-100, {"duration": 10})
    in_group = await effective(store, user_id=7, chat_id=-100, private=False)
    assert in_group == Preferences(duration=10, aspect_ratio="9:16")
    assert await effective(store, user_id=7, chat_id=7, private=True) == Preferences(
        duration=5, aspect_ratio="9:16"
    )
    assert owner_id(-100, 7, private=False) == -100 and owner_id(7, 7, private=True) == 7
    await store.close()


def test_fit_drops_what_the_provider_does_not_offer():
    caps = Capabilities(
        kinds=frozenset({JobKind.TEXT}),
        models=("kling-v1",),
        modes=frozenset({"std"}),
        max_negative_prompt_length=3,
    )
    prefs = Preferences(model="kling-v2-master", mode="pro", duration=10, negative_prompt="fog!")
    fitted, dropped = prefs.fit(caps)
    assert fitted == Preferences(duration=10)
    assert dropped == ["model", "mode", "negative_prompt"]


def caps(end_frame: bool) -> Capabilities:
    return Capabilities(kinds=frozenset({JobKind.IMAGE}), end_frame=end_frame)


def test_preferred_provider_goes_first_when_it_can_serve():
    capabilities = {"a": caps(True), "b": caps(True), "c": caps(True)}
    assert order(["a", "b", "c"], capabilities, preferred="c") == ["c", "a", "b"]
    assert order(["a", "b"], capabilities, preferred="c") == ["a", "b"]  # c cannot serve it


def test_end_frame_keeps_only_providers_that_take_one():
    capabilities = {"a": caps(False), "b": caps(True)}
    assert order(["a", "b"], capabilities, end_frame=True) == ["b"]
    assert order(["a", "b"], capabilities, preferred="a", end_frame=True) == ["b"]


def test_no_end_frame_names_the_providers_that_would():
    capabilities = {"a": caps(False), "b": caps(True)}
    assert order(["a"], capabilities, end_frame=True) == NoEndFrame("a", ("b",))
    assert order(["a"], {"a": caps(False)}, end_frame=True) == NoEndFrame("a", ())
