"""The job model and the one state machine every job transition goes through.

A job moves queued -> running -> succeeded -> delivered, or ends failed or cancelled. The
store applies a transition only when `can_transition` allows it, atomically, so a repeated,
late or out-of-order status report can never deliver twice or resurrect a cancelled job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.i18n import Reason


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    EFFECT = "effect"  # a named effect on one or two photos (`bot.effects`)
    REFS = "refs"  # a video from two to four reference photos (`--refs`, an album of 3 or 4)
    EXTEND = "extend"  # a delivered video made longer by the provider that made it


#: Jobs the provider is still working on: polled, and subject to the job timeout.
GENERATING = frozenset({JobState.QUEUED, JobState.RUNNING})
#: Jobs with nothing left to do.
FINISHED = frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED})

_ALLOWED: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset(
        {JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
    ),
    # running -> running records new progress.
    JobState.RUNNING: frozenset(
        {JobState.RUNNING, JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED}
    ),
    # A finished video may still fail to reach the chat, or be cancelled before it does.
    JobState.SUCCEEDED: frozenset({JobState.DELIVERED, JobState.FAILED, JobState.CANCELLED}),
    JobState.DELIVERED: frozenset(),
    JobState.FAILED: frozenset(),
    JobState.CANCELLED: frozenset(),
}


def can_transition(current: JobState, new: JobState) -> bool:
    """Whether a job in `current` may move to `new`."""
    return new in _ALLOWED[current]


@dataclass(frozen=True)
class Requester:
    """Who asked, and where the answer goes."""

    user_id: int
    chat_id: int
    message_id: int
    thread_id: int | None = None
    mention: str | None = None  # set in groups so the result can name the requester


@dataclass(frozen=True)
class NewJob:
    """What a job is, before the store gives it an id."""

    requester: Requester
    kind: JobKind
    prompt: str
    provider: str
    params: dict[str, Any] = field(default_factory=dict)
    input_file_ids: tuple[str, ...] = ()
    callback_token: str | None = None  # the secret in this job's provider callback URL
    price: int = 0  # credits reserved when it is created, charged on delivery (`bot.billing`)


@dataclass(frozen=True)
class Quota:
    """Per-user limits checked in the same statement that creates a job, so concurrent
    requests (on several replicas, too) can never take a user past them."""

    max_open: int  # unfinished jobs at once
    max_recent: int  # jobs created since `since`
    since: float


@dataclass(frozen=True)
class Job:
    """A row of the jobs table."""

    id: int
    requester: Requester
    kind: JobKind
    prompt: str
    provider: str
    params: dict[str, Any]
    input_file_ids: tuple[str, ...]
    state: JobState
    provider_task_id: str | None
    status_message_id: int | None
    progress: int | None
    result_url: str | None
    error: str | None  # in English, for operators; users read `reason`
    delivery_attempts: int
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    callback_token: str | None = None
    submit_started_at: float | None = None  # set before the first request to a provider
    lease_owner: str | None = None  # the replica submitting, polling or delivering it now
    lease_until: float = 0.0  # when that lease lapses unless renewed (0: no lease)
    # Sent to providers that echo it in a header (APIFRAME); never part of a URL.
    callback_secret: str | None = None
    # Since when the job waits to learn whether its provider took it (the submit's answer was
    # lost): it is looked up, or adopted from a callback, and never sent again.
    reconcile_since: float | None = None
    # Cancelled, but the provider may still be making it (none has a cancel endpoint): its
    # task is polled, never delivered, and counts against the user's limit until it stops.
    stopping: bool = False
    reason: Reason | None = None  # why it failed, shown in the reader's language
    # The delivered video as Telegram keeps it: re-sent and shared by this id, never by the
    # provider's link (Kling deletes results after about 30 days).
    video_file_id: str | None = None
    video_file_kind: str | None = None  # VIDEO or DOCUMENT: what Telegram made of the file
    price: int = 0  # credits reserved for it: charged when delivered, released otherwise

    @property
    def is_generating(self) -> bool:
        return self.state in GENERATING

    @property
    def delivered_file(self) -> DeliveredFile | None:
        """The kept file of a delivered video; None if it went as a link or is not delivered.

        Rows delivered before the kind was recorded are documents exactly when the requester
        chose files."""
        if self.state is not JobState.DELIVERED or not self.video_file_id:
            return None
        kind = self.video_file_kind
        if kind not in (VIDEO, DOCUMENT):
            kind = DOCUMENT if self.params.get("as_file") else VIDEO  # preferences.AS_FILE
        return DeliveredFile(self.video_file_id, kind)


#: The kinds of delivered file (`Job.video_file_kind`).
VIDEO = "video"
DOCUMENT = "document"


@dataclass(frozen=True)
class DeliveredFile:
    """The file Telegram made of a delivered video: what re-sends and shares use."""

    file_id: str
    kind: str  # VIDEO or DOCUMENT


@dataclass(frozen=True)
class TaskUpdate:
    """A provider's report on one task, normalised to our job states."""

    task_id: str
    state: JobState  # QUEUED, RUNNING, SUCCEEDED or FAILED
    progress: int | None = None
    video_url: str | None = None
    error: str | Reason | None = None  # the provider's words, or ours as a message key


@dataclass(frozen=True)
class ProviderCallback:
    """A provider's report on a job, as put on the Application's update queue by the web
    server: Telegram updates and callbacks share one pipeline (see `bot.web`)."""

    job_id: int
    update: TaskUpdate
