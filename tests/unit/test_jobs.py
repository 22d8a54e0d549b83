"""The job state machine: which transitions are legal."""

import pytest

from bot.jobs import FINISHED, JobState, can_transition

S = JobState


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.RUNNING),
        (S.QUEUED, S.SUCCEEDED),
        (S.QUEUED, S.FAILED),
        (S.QUEUED, S.CANCELLED),
        (S.RUNNING, S.RUNNING),
        (S.RUNNING, S.SUCCEEDED),
        (S.RUNNING, S.FAILED),
        (S.RUNNING, S.CANCELLED),
        (S.SUCCEEDED, S.DELIVERED),
        (S.SUCCEEDED, S.FAILED),
        (S.SUCCEEDED, S.CANCELLED),
    ],
)
def test_allowed(current, new):
    assert can_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (S.QUEUED, S.QUEUED),
        (S.QUEUED, S.DELIVERED),
        (S.RUNNING, S.QUEUED),
        (S.RUNNING, S.DELIVERED),
        (S.SUCCEEDED, S.SUCCEEDED),
        (S.SUCCEEDED, S.RUNNING),
        (S.SUCCEEDED, S.QUEUED),
    ],
)
def test_refused(current, new):
    assert not can_transition(current, new)


@pytest.mark.parametrize("final", sorted(FINISHED))
def test_finished_states_never_move(final):
    assert not any(can_transition(final, new) for new in JobState)
