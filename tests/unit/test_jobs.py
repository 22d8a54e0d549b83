"""The job state machine: which transitions are legal."""

import pytest

from bot.jobs import FINISHED, JobState, can_transition

S = JobState


ALLOWED = {
    S.QUEUED: (S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED),
    S.RUNNING: (S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED),
    S.SUCCEEDED: (S.DELIVERED, S.FAILED, S.CANCELLED),
}
REFUSED = {
    S.QUEUED: (S.QUEUED, S.DELIVERED),
    S.RUNNING: (S.QUEUED, S.DELIVERED),
    S.SUCCEEDED: (S.SUCCEEDED, S.RUNNING, S.QUEUED),
}


def pairs(table: dict[JobState, tuple[JobState, ...]]) -> list[tuple[JobState, JobState]]:
    """(current, new) for every new state listed under a current one, in table order."""
    return [(current, new) for current, targets in table.items() for new in targets]


@pytest.mark.parametrize(("current", "new"), pairs(ALLOWED))
def test_allowed(current, new):
    assert can_transition(current, new)


@pytest.mark.parametrize(("current", "new"), pairs(REFUSED))
def test_refused(current, new):
    assert not can_transition(current, new)


@pytest.mark.parametrize("final", sorted(FINISHED))
def test_finished_states_never_move(final):
    assert not any(can_transition(final, new) for new in JobState)
