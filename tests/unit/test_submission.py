"""Submission policy: retries, failover, refusals and the paid-twice guard, with stub providers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.i18n import Reason
from bot.jobs import Job, JobKind, JobState, Requester
from bot.metrics import Metrics
from bot.providers.base import (
    AccountStatus,
    Capabilities,
    ContentPolicy,
    InvalidRequest,
    NoCredits,
    ProviderError,
    RateLimited,
    TaskUpdate,
    Unavailable,
    VideoRequest,
)
from bot.submission import SubmitFailed, SubmitPolicy, Submitter, SubmitUnconfirmed


class StubProvider:
    """Answers submits from a script: an exception to raise, or a task id to return."""

    def __init__(self, name: str, script: list[object], caps: Capabilities | None = None) -> None:
        self.name = name
        self.capabilities = caps or Capabilities(kinds=frozenset({JobKind.TEXT}))
        self.script = list(script)
        self.requests: list[VideoRequest] = []

    async def submit(self, request: VideoRequest) -> str:
        self.requests.append(request)
        outcome = self.script.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return str(outcome)

    async def poll(self, task_ids):
        return {}

    async def account(self) -> AccountStatus:
        return AccountStatus(None, "nothing")

    def parse_callback(self, body) -> TaskUpdate | None:
        return None

    async def aclose(self) -> None:
        return None


class FindingProvider(StubProvider):
    """A provider that can look a task up by our job id (`FindsTasks`), like Kling."""

    async def find_task(self, job_id: int, kind: JobKind) -> TaskUpdate | None:
        return None


class StubStore:
    """Just what submission writes: the moment a request leaves for a provider."""

    def __init__(self) -> None:
        self.marked: list[tuple[int, str, str]] = []
        self.cancelled: set[int] = set()  # jobs cancelled before they were sent
        self.stopped: list[tuple[int, str | None]] = []

    async def mark_submit_started(self, job_id: int, provider: str, callback_secret: str) -> bool:
        self.marked.append((job_id, provider, callback_secret))
        return job_id not in self.cancelled

    async def provider_stopped(self, job_id: int, task_id: str | None) -> bool:
        self.stopped.append((job_id, task_id))
        return True

    async def job_image(self, job_id: int, frame: int) -> tuple[bytes, str] | None:
        raise AssertionError("text jobs have no images")

    async def put_job_image(
        self, job_id: int, frame: int, file_id: str, data: bytes, mime_type: str
    ) -> None:
        raise AssertionError("text jobs have no images")

    async def add_media_link(
        self, token: str, job_id: int, file_id: str, expires_at: float
    ) -> None:
        raise AssertionError("text jobs have no images")


def job(params=None, provider="first", submit_started_at=None, callback_token=None) -> Job:
    return Job(
        id=7,
        requester=Requester(1, 1, 1),
        kind=JobKind.TEXT,
        prompt="a fox",
        provider=provider,
        params=params or {},
        input_file_ids=(),
        state=JobState.QUEUED,
        provider_task_id=None,
        status_message_id=None,
        progress=None,
        result_url=None,
        error=None,
        delivery_attempts=0,
        next_attempt_at=None,
        created_at=0.0,
        updated_at=0.0,
        submit_started_at=submit_started_at,
        callback_token=callback_token,
    )


def submitter(
    *providers: StubProvider, attempts: int = 3, store: StubStore | None = None, **policy
) -> Submitter:
    return Submitter(
        providers={p.name: p for p in providers},
        bot=None,  # type: ignore[arg-type]  # text jobs never download photos
        store=store or StubStore(),
        metrics=Metrics(),
        policy=SubmitPolicy(attempts=attempts, backoff=0.0, max_backoff=0.0, **policy),
    )


class Moves:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    async def __call__(self, from_provider: str, to_provider: str) -> None:
        self.seen.append((from_provider, to_provider))


async def test_retryable_errors_are_retried_then_succeed():
    first = StubProvider("first", [Unavailable("503"), RateLimited("slow down"), "task-1"])
    result = await submitter(first).submit(job(), Moves())
    assert (result.provider, result.task_id) == ("first", "task-1")
    assert len(first.requests) == 3


async def test_retries_are_bounded_then_fail_over():
    first = StubProvider("first", [Unavailable("503")] * 3)
    second = StubProvider("second", ["task-2"])
    moves = Moves()
    result = await submitter(first, second).submit(job(), moves)
    assert result.provider == "second" and len(first.requests) == 3
    assert moves.seen == [("first", "second")]


async def test_no_credits_fails_over_without_retrying():
    first = StubProvider("first", [NoCredits("balance is empty")])
    second = StubProvider("second", ["task-2"])
    result = await submitter(first, second).submit(job(), Moves())
    assert result.provider == "second" and len(first.requests) == 1


async def test_content_policy_is_final_and_explained():
    first = StubProvider("first", [ContentPolicy("the prompt breaks the content rules")])
    second = StubProvider("second", ["task-2"])
    with pytest.raises(SubmitFailed, match="content rules"):
        await submitter(first, second).submit(job(), Moves())
    assert second.requests == []


async def test_maybe_accepted_is_never_sent_again():
    first = StubProvider("first", [Unavailable("read timeout", maybe_accepted=True)])
    second = StubProvider("second", ["task-2"])
    with pytest.raises(SubmitFailed) as caught:
        await submitter(first, second).submit(job(), Moves())
    assert caught.value.reason == Reason.of("no_answer")
    assert len(first.requests) == 1 and second.requests == []


async def test_a_job_cancelled_before_it_is_sent_is_never_sent():
    store = StubStore()
    store.cancelled.add(job().id)
    first = StubProvider("first", ["task-1"])
    with pytest.raises(SubmitFailed):
        await submitter(first, store=store).submit(job(), Moves())
    assert first.requests == []
    assert store.stopped == [(job().id, None)]  # no provider holds it: the slot is free


async def test_a_job_cancelled_between_retries_is_not_retried():
    store = StubStore()
    first = StubProvider("first", [Unavailable("503"), "task-1"])
    second = StubProvider("second", ["task-2"])
    real_submit = first.submit

    async def submit_then_cancel(request: VideoRequest) -> str:
        store.cancelled.add(request.job_id)  # the user cancels while the 503 comes back
        return await real_submit(request)

    first.submit = submit_then_cancel  # type: ignore[method-assign]
    with pytest.raises(SubmitFailed):
        await submitter(first, second, store=store).submit(job(), Moves())
    assert len(first.requests) == 1 and second.requests == []
    assert store.stopped == [(job().id, None)]


async def test_a_job_cancelled_while_refused_frees_its_slot():
    store = StubStore()
    first = StubProvider("first", [InvalidRequest("bad prompt")])
    real_submit = first.submit

    async def cancel_then_refuse(request: VideoRequest) -> str:
        store.cancelled.add(request.job_id)  # the user cancels while the request is out
        return await real_submit(request)

    first.submit = cancel_then_refuse  # type: ignore[method-assign]
    with pytest.raises(SubmitFailed):
        await submitter(first, store=store).submit(job(), Moves())
    assert store.stopped == [(job().id, None)]  # refused: no provider holds a task


async def test_all_providers_down_tells_user_to_try_later():
    first = StubProvider("first", [NoCredits("x")])
    second = StubProvider("second", [Unavailable("down")] * 3)
    with pytest.raises(SubmitFailed, match=r"down\. Please try again later"):
        await submitter(first, second).submit(job(), Moves())


async def test_operator_problems_are_not_shown_to_users():
    first = StubProvider("first", [NoCredits("account 42 has 0 credits")])
    with pytest.raises(SubmitFailed) as caught:
        await submitter(first).submit(job(), Moves())
    assert caught.value.reason == Reason.of("unavailable")


async def test_job_parameters_reach_the_request():
    first = StubProvider("first", ["t"])
    params = {"duration": 10, "aspect_ratio": "9:16", "negative_prompt": "blur", "other": 1}
    await submitter(first).submit(job(params), Moves())
    request = first.requests[0]
    assert (request.duration, request.aspect_ratio, request.negative_prompt) == (10, "9:16", "blur")


def test_refusal_names_what_to_change_and_skips_incapable_providers():
    short = Capabilities(kinds=frozenset({JobKind.TEXT}), durations=frozenset({5}))
    both = StubProvider("both", [], Capabilities(kinds=frozenset({JobKind.TEXT})))
    only5 = StubProvider("only5", [], short)
    s = submitter(only5, both)
    assert s.candidates(JobKind.TEXT, {"duration": 10}, "x") == ["both"]
    assert s.refusal(JobKind.TEXT, {"duration": 10}, "x") is None
    alone = submitter(only5)
    assert str(alone.refusal(JobKind.TEXT, {"duration": 10}, "x")) == (
        "I can't make that video: choose a duration among 5 seconds."
    )
    assert str(alone.refusal(JobKind.IMAGE, {}, "x")) == (
        "I can't make that video: this provider does not make image-to-video."
    )


def test_provider_error_defaults():
    error = ProviderError("x")
    assert not error.retryable and not error.maybe_accepted and error.retry_after is None


async def test_job_interrupted_while_submitting_is_never_sent_again():
    first = StubProvider("first", ["task-1"])
    with pytest.raises(SubmitFailed) as caught:
        await submitter(first).submit(job(submit_started_at=123.0), Moves())
    assert caught.value.reason == Reason.of("interrupted_submit")
    assert first.requests == []


async def test_unanswered_submit_is_left_to_reconcile_where_the_provider_allows():
    finder = FindingProvider("finder", [Unavailable("HTTP 500", maybe_accepted=True)])
    second = StubProvider("second", ["task-2"])
    with pytest.raises(SubmitUnconfirmed) as caught:
        await submitter(finder, second).submit(job(provider="finder"), Moves())
    assert caught.value.provider == "finder"
    assert len(finder.requests) == 1 and second.requests == []
    with pytest.raises(SubmitUnconfirmed):  # interrupted by a crash: the same, never resent
        await submitter(finder).submit(job(provider="finder", submit_started_at=1.0), Moves())
    assert len(finder.requests) == 1


async def test_callbacks_make_a_provider_reconcilable_only_in_webhook_mode():
    caps = Capabilities(kinds=frozenset({JobKind.TEXT}), callbacks=True)
    calls_back = StubProvider("hooks", [], caps)
    polling, webhook = submitter(calls_back), submitter(calls_back, callbacks=True)
    assert not polling.can_reconcile("hooks") and webhook.can_reconcile("hooks")
    with pytest.raises(SubmitUnconfirmed):
        await webhook.submit(job(provider="hooks", submit_started_at=1.0), Moves())
    with pytest.raises(SubmitFailed) as caught:
        await polling.submit(job(provider="hooks", submit_started_at=1.0), Moves())
    assert caught.value.reason == Reason.of("interrupted_submit")


async def test_callback_secret_is_its_own_and_only_for_providers_that_echo_it():
    header = Capabilities(kinds=frozenset({JobKind.TEXT}), callbacks=True)
    header = replace(header, callback_secret_header=True)
    unsigned = replace(header, callback_secret_header=False)
    echoes = StubProvider("echoes", [Unavailable("down")] * 3, header)
    plain = StubProvider("plain", ["task-2"], unsigned)
    store = StubStore()
    s = submitter(echoes, plain, store=store, callbacks=True, public_url="https://bot.example")
    await s.submit(job(provider="echoes", callback_token="url-token"), Moves())
    sent = echoes.requests[0]
    assert sent.callback_url == "https://bot.example/callbacks/echoes/url-token"
    assert sent.callback_secret and sent.callback_secret != "url-token"
    assert plain.requests[0].callback_secret is None  # nothing to echo: never sent
    # Stored before each request left (every attempt checks the job is still wanted), with
    # the provider it went to; one secret per job.
    marks = list(dict.fromkeys(store.marked))
    assert marks == [(7, "echoes", sent.callback_secret), (7, "plain", sent.callback_secret)]


async def test_refusals_in_our_words_keep_their_key_the_providers_are_quoted():
    ours = Reason.of("pro_needs_model", model="kling-v1-5")
    first = StubProvider("first", [InvalidRequest("pro mode needs kling-v1-5", reason=ours)])
    with pytest.raises(SubmitFailed) as caught:
        await submitter(first).submit(job(), Moves())
    assert caught.value.reason == ours
    second = StubProvider("second", [ContentPolicy("nsfw content")])
    with pytest.raises(SubmitFailed) as caught:
        await submitter(second).submit(job(provider="second"), Moves())
    assert caught.value.reason == Reason.of("provider_said", message="nsfw content")
