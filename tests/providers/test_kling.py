"""`KlingProvider` and `MakevidProvider` against the Kling fake, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import jwt
import pytest
import pytest_asyncio

from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.base import (
    AccountStatus,
    AuthFailed,
    ContentPolicy,
    InputImage,
    InvalidRequest,
    NoCredits,
    ProviderError,
    RateLimited,
    TaskUpdate,
    Unavailable,
    VideoProvider,
    VideoRequest,
    unsupported,
)
from bot.providers.kling import KlingProvider, TaskNotFound
from bot.providers.makevid import MakevidProvider
from tests.fakes.kling import FakeKling

AK, SK = "kling-ak-test", "kling-sk-test"
MV_KEY = "makevid-test-key"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
T0 = 1_750_000_000.0
UNREACHABLE = "http://127.0.0.1:1"

# The test secret is shorter than a real one (32 characters); PyJWT says so on every token.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


class Clock:
    """A clock the provider and the fake share, moved by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def request(kind: JobKind = JobKind.TEXT, job_id: int = 1, **fields: Any) -> VideoRequest:
    if kind is JobKind.IMAGE and "image" not in fields:
        fields["image"] = InputImage(PNG, "image/png")
    return VideoRequest(job_id=job_id, kind=kind, prompt=fields.pop("prompt", "a cat"), **fields)


def own_id(task_id: str) -> str:
    """The fake's id inside the provider's `<kind>:<id>`."""
    return task_id.partition(":")[2]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
async def fake(clock):
    server = FakeKling(AK, SK, forbidden=[SK])
    server.clock = clock
    await server.start()
    yield server
    assert server.leaks == []
    await server.stop()


@pytest.fixture
async def kling(fake, clock):
    provider = KlingProvider(AK, SK, fake.url, clock=clock)
    yield provider
    await provider.aclose()


@pytest.fixture
async def mv_fake():
    server = FakeKling(MV_KEY, flavour="makevid")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def makevid(mv_fake):
    provider = MakevidProvider(MV_KEY, mv_fake.url)
    yield provider
    await provider.aclose()


def claims_of(header: str) -> dict[str, Any]:
    scheme, _, token = header.partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    return dict(jwt.decode(token, SK, algorithms=["HS256"], options={"verify_exp": False}))


# capabilities


def test_capabilities():
    kling, makevid = KlingProvider.capabilities, MakevidProvider.capabilities
    assert (KlingProvider.name, MakevidProvider.name) == ("kling", "makevid")
    assert makevid.kinds == frozenset({JobKind.TEXT, JobKind.IMAGE})
    assert kling.kinds == frozenset({JobKind.TEXT, JobKind.IMAGE, JobKind.EFFECT, JobKind.EXTEND})
    assert kling.models[0] == "kling-v1-6" and len(set(kling.models)) == 8
    assert makevid.models == ("kling-v1",)
    assert (kling.callbacks, makevid.callbacks) == (True, False)
    assert (kling.max_negative_prompt_length, makevid.max_negative_prompt_length) == (2500, 200)
    for caps in (kling, makevid):
        assert caps.end_frame and not caps.image_by_url_only
        assert caps.modes == frozenset({"std", "pro"}) and caps.durations == frozenset({5, 10})
        assert caps.aspect_ratios == ("16:9", "9:16", "1:1") and caps.max_prompt_length == 2500
    assert unsupported(makevid, request(negative_prompt="x" * 201)) is not None
    assert unsupported(kling, request(negative_prompt="x" * 201, model="kling-v2-5-turbo")) is None


def test_makevid_poll_path_needs_a_task_id():
    with pytest.raises(ValueError, match="task_id"):
        MakevidProvider(MV_KEY, UNREACHABLE, poll_path="/api/v1/get/{kind}")


# Kling: submit


async def test_text2video_body_headers_and_task_id(kling, fake, clock):
    task_id = await kling.submit(request(job_id=42))
    task = await fake.wait_for_task()
    assert task_id == f"text2video:{task.task_id}"
    rec = fake.requests[-1]
    assert (rec.method, rec.path) == ("POST", "/v1/videos/text2video")
    assert rec.headers["content-type"] == "application/json"
    assert rec.json == {"prompt": "a cat", "model_name": "kling-v1-6", "external_task_id": "job-42"}
    claims = claims_of(rec.headers["authorization"])
    assert claims == {"iss": AK, "exp": int(T0) + 1800, "nbf": int(T0) - 5}


async def test_text2video_with_every_option(kling, fake):
    await kling.submit(
        request(
            job_id=7,
            prompt="a fox",
            negative_prompt="blur",
            model="kling-v2-master",
            duration=10,
            aspect_ratio="9:16",
            mode="pro",
            cfg_scale=0.3,
            callback_url="https://bot.test/callbacks/s3cret",
            callback_secret="s3cret",
        )
    )
    assert fake.requests[-1].json == {
        "prompt": "a fox",
        "negative_prompt": "blur",
        "model_name": "kling-v2-master",
        "duration": "10",
        "aspect_ratio": "9:16",
        "mode": "pro",
        "cfg_scale": 0.3,
        "callback_url": "https://bot.test/callbacks/s3cret",
        "external_task_id": "job-7",
    }


async def test_image2video_sends_raw_base64_and_no_aspect_ratio(kling, fake):
    task_id = await kling.submit(
        request(
            JobKind.IMAGE,
            prompt="",
            end_image=InputImage(JPEG, "image/jpeg"),
            aspect_ratio="16:9",
            duration=5,
        )
    )
    task = await fake.wait_for_task()
    assert task_id == f"image2video:{task.task_id}"
    body = fake.requests[-1].json
    assert fake.requests[-1].path == "/v1/videos/image2video"
    assert body == {
        "image": base64.b64encode(PNG).decode(),
        "image_tail": base64.b64encode(JPEG).decode(),
        "duration": "5",
        "model_name": "kling-v1-6",
        "external_task_id": "job-1",
    }
    assert (task.image_bytes, task.image_tail_bytes) == (PNG, JPEG)


async def test_image_link_is_sent_as_is_when_the_bot_serves_one(kling, fake):
    image = InputImage(PNG, "image/png", url="https://bot.test/media/abc.png")
    await kling.submit(request(JobKind.IMAGE, image=image))
    assert fake.requests[-1].json["image"] == "https://bot.test/media/abc.png"


async def test_image_job_without_image_is_refused_before_any_call(kling, fake):
    with pytest.raises(InvalidRequest):
        await kling.submit(VideoRequest(job_id=1, kind=JobKind.IMAGE, prompt="x"))
    assert fake.requests == []


async def test_second_submit_of_a_job_is_refused_by_external_task_id(kling, fake):
    await kling.submit(request(job_id=5))
    with pytest.raises(InvalidRequest, match="already exists"):
        await kling.submit(request(job_id=5))
    assert len(fake.tasks) == 1


async def test_find_task_looks_the_job_up_by_its_external_task_id(kling, fake):
    fake.fail_next("/v1/videos/image2video", status=500, accepted=True)
    with pytest.raises(Unavailable) as caught:
        await kling.submit(request(JobKind.IMAGE, job_id=9))
    assert caught.value.maybe_accepted  # made and billed, but we never heard the task id
    (task,) = fake.tasks.values()
    assert await kling.find_task(9, JobKind.TEXT) is None  # wrong kind: no such task
    assert await kling.find_task(8, JobKind.IMAGE) is None  # another job: none either
    found = await kling.find_task(9, JobKind.IMAGE)
    assert found == TaskUpdate(f"image2video:{task.task_id}", JobState.QUEUED)
    assert fake.requests[-1].path == "/v1/videos/image2video/job-9"
    await fake.finish(task.task_id)
    update = (await kling.poll([found.task_id]))[found.task_id]  # the id polls as usual
    assert update.state is JobState.SUCCEEDED
    assert kling.parse_callback(task.data()) is not None  # and its callbacks are known now


async def test_find_task_raises_when_kling_cannot_tell(kling, fake):
    fake.fail_next("/v1/videos/text2video/job-1", status=503)
    with pytest.raises(Unavailable):
        await kling.find_task(1, JobKind.TEXT)


# Kling: the JWT


async def test_token_is_reused_then_renewed_when_5_minutes_remain(kling, fake, clock):
    task_id = await kling.submit(request())
    clock.now = T0 + 1500  # 300 s left: still good enough
    await kling.poll([task_id])
    clock.now = T0 + 1501  # 299 s left: a fresh one
    await kling.poll([task_id])
    first, reused, renewed = (r.headers["authorization"] for r in fake.requests)
    assert first == reused != renewed
    assert claims_of(renewed) == {"iss": AK, "exp": int(T0) + 3301, "nbf": int(T0) + 1496}


async def test_the_fake_refuses_a_token_from_a_stale_clock(fake, clock):
    provider = KlingProvider(AK, SK, fake.url, clock=lambda: T0 - 3600)
    try:
        with pytest.raises(AuthFailed, match="expired"):
            await provider.submit(request())
    finally:
        await provider.aclose()


async def test_wrong_secret_is_auth_failed(fake, clock):
    provider = KlingProvider(AK, "not-the-secret", fake.url, clock=clock)
    try:
        with pytest.raises(AuthFailed):
            await provider.submit(request())
        with pytest.raises(AuthFailed):
            await provider.account()
    finally:
        await provider.aclose()


# Kling: polling


async def test_every_status_of_both_kinds_on_the_right_path(kling, fake):
    text = await kling.submit(request(job_id=1))
    image = await kling.submit(request(JobKind.IMAGE, job_id=2))
    assert await kling.poll([text, image]) == {
        text: TaskUpdate(text, JobState.QUEUED),
        image: TaskUpdate(image, JobState.QUEUED),
    }
    paths = {r.path for r in fake.requests if r.method == "GET"}
    assert paths == {
        f"/v1/videos/text2video/{own_id(text)}",
        f"/v1/videos/image2video/{own_id(image)}",
    }

    await fake.set_processing(own_id(text))
    video_url = await fake.finish(own_id(image))
    assert await kling.poll([text, image]) == {
        text: TaskUpdate(text, JobState.RUNNING),
        image: TaskUpdate(image, JobState.SUCCEEDED, progress=100, video_url=video_url),
    }
    await fake.fail(own_id(text), "Failure to pass the risk control system")
    assert (await kling.poll([text]))[text] == TaskUpdate(
        text, JobState.FAILED, error="Failure to pass the risk control system"
    )


async def test_succeeded_without_a_video_is_a_failure(kling, fake):
    task_id = await kling.submit(request())
    await fake.finish(own_id(task_id), video_url="")
    assert (await kling.poll([task_id]))[task_id] == TaskUpdate(
        task_id, JobState.FAILED, error=Reason.of("no_video_sent")
    )


async def test_failed_ids_are_left_out_and_others_still_reported(kling, fake, caplog):
    good = await kling.submit(request())
    gone, foreign = "image2video:no-such-task", "sbx-123"
    fake.fail_next(f"/v1/videos/text2video/{own_id(good)}", status=500)
    other = await kling.submit(request(job_id=2))
    updates = await kling.poll([good, gone, foreign, other])
    assert set(updates) == {other}
    assert "task not found" in caplog.text and "sbx-123" in caplog.text


@pytest.mark.parametrize(
    ("ids", "error"),
    [
        (["text2video:nope", "image2video:nope"], TaskNotFound),
        (["text2video:nope"], InvalidRequest),
    ],
)
async def test_when_every_poll_fails_the_error_is_raised(kling, ids, error):
    with pytest.raises(error, match="task not found"):
        await kling.poll(ids)


async def test_poll_of_nothing_or_only_foreign_ids_is_empty(kling, fake):
    assert await kling.poll([]) == {}
    assert await kling.poll(["sbx-1", "text2video:", "video:abc"]) == {}
    assert fake.requests == []


async def test_bad_credentials_surface_from_poll(fake, clock):
    provider = KlingProvider(AK, "wrong", fake.url, clock=clock)
    try:
        with pytest.raises(AuthFailed):
            await provider.poll(["text2video:a", "image2video:b"])
    finally:
        await provider.aclose()


async def test_polls_run_at_most_5_at_a_time(kling, fake):
    ids = [await kling.submit(request(job_id=n)) for n in range(8)]
    for task_id in ids:
        fake.stall(f"/v1/videos/text2video/{own_id(task_id)}")
    polling = asyncio.create_task(kling.poll(ids))

    def queries() -> list[Any]:
        return [r for r in fake.requests if r.method == "GET"]

    try:
        await fake.wait(lambda: queries() if len(queries()) >= 5 else None, 5.0, "5 queries")
        with pytest.raises(AssertionError, match="timed out"):
            await fake.wait(lambda: True if len(queries()) > 5 else None, 0.1, "a 6th query")
    finally:
        fake.release()
        updates = await polling
    assert set(updates) == set(ids)
    assert len(queries()) == 8


# Kling: callbacks


async def test_callbacks_map_to_the_submitted_task_id(kling, fake):
    task_id = await kling.submit(request(callback_url=f"{UNREACHABLE}/cb/s3cret"))
    await fake.set_processing(own_id(task_id))
    video_url = await fake.finish(own_id(task_id))
    running, done = (d.payload for d in fake.callback_deliveries)
    assert "kind" not in running and running["task_id"] == own_id(task_id)
    assert kling.parse_callback(running) == TaskUpdate(task_id, JobState.RUNNING)
    assert kling.parse_callback(done) == TaskUpdate(
        task_id, JobState.SUCCEEDED, progress=100, video_url=video_url
    )


async def test_failure_callback(kling, fake):
    task_id = await kling.submit(request(JobKind.IMAGE, callback_url=f"{UNREACHABLE}/cb"))
    await fake.fail(own_id(task_id), "Image is too small")
    payload = fake.callback_deliveries[-1].payload
    assert kling.parse_callback(payload) == TaskUpdate(
        task_id, JobState.FAILED, error="Image is too small"
    )


async def test_after_a_restart_callbacks_wait_for_the_first_poll(kling, fake, clock):
    task_id = await kling.submit(request(JobKind.IMAGE, callback_url=f"{UNREACHABLE}/cb"))
    await fake.set_processing(own_id(task_id))
    payload = fake.callback_deliveries[-1].payload
    restarted = KlingProvider(AK, SK, fake.url, clock=clock)
    try:
        assert restarted.parse_callback(payload) is None  # kind unknown: polling will tell
        await restarted.poll([task_id])
        assert restarted.parse_callback(payload) == TaskUpdate(task_id, JobState.RUNNING)
    finally:
        await restarted.aclose()


@pytest.mark.parametrize(
    "body",
    [None, [], "x", {}, {"task_id": 3}, {"task_id": ""}, {"task_status": "succeed"}],
)
def test_unreadable_callbacks_are_none(body):
    assert KlingProvider(AK, SK, UNREACHABLE).parse_callback(body) is None


async def test_callback_with_an_unknown_status_is_none(kling, fake):
    task_id = await kling.submit(request())
    assert kling.parse_callback({"task_id": own_id(task_id), "task_status": "paused"}) is None


# Kling: account


async def test_account_reports_the_remaining_units(kling, fake):
    status = await kling.account()
    assert status == AccountStatus(
        "42.5 units left in 1 resource pack(s)", "GET /account/costs", credits=42.5
    )
    rec = fake.requests[-1]
    assert (rec.method, rec.path) == ("GET", "/account/costs")
    end = int(T0 * 1000)
    assert rec.query == f"start_time={end - 365 * 24 * 3600 * 1000}&end_time={end}"


@pytest.mark.parametrize(
    ("packs", "balance"),
    [
        ([], None),
        ([{"status": "expired", "remaining_quantity": 9}], None),
        (
            [
                {"status": "online", "remaining_quantity": 10},
                {"status": "online", "remaining_quantity": 2.5},
                {"status": "runOut", "remaining_quantity": 0},
            ],
            "12.5 units left in 2 resource pack(s)",
        ),
    ],
)
async def test_account_balance_counts_online_packs_only(kling, fake, packs, balance):
    fake.resource_packs = packs
    status = await kling.account()
    assert status.balance == balance
    assert (status.credits is None) == (balance is None)


# errors, for both providers


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared():
    fakes = {"kling": FakeKling(AK, SK), "makevid": FakeKling(MV_KEY, flavour="makevid")}
    for server in fakes.values():
        await server.start()
    providers: dict[str, VideoProvider] = {
        "kling": KlingProvider(AK, SK, fakes["kling"].url),
        "makevid": MakevidProvider(MV_KEY, fakes["makevid"].url),
    }
    yield {name: (fakes[name], providers[name]) for name in fakes}
    for provider in providers.values():
        await provider.aclose()
    for server in fakes.values():
        await server.stop()


CREATE_PATHS = {
    "kling": "/v1/videos/text2video",
    "makevid": "/api/v1/kling/text2video/create_kling",
}
ERRORS: list[tuple[int, Any, type[ProviderError], bool]] = [
    # status, body (None: the fake's default for the status), error, maybe_accepted on create
    *((401, {"code": code, "message": "auth"}, AuthFailed, False) for code in range(1000, 1005)),
    (401, "<html>401</html>", AuthFailed, False),
    (403, {}, AuthFailed, False),
    (429, {"code": 1102, "message": "Account balance is insufficient"}, NoCredits, False),
    (429, {"code": 1101, "message": "Account is in arrears"}, NoCredits, False),
    (429, {"code": 1302, "message": "too fast"}, RateLimited, False),
    (429, {"code": 1303, "message": "too many parallel tasks"}, RateLimited, False),
    (429, None, RateLimited, False),
    (400, {"code": 1300, "message": "platform strategy"}, ContentPolicy, False),
    (400, {"code": 1301, "message": "content security"}, ContentPolicy, False),
    (404, None, TaskNotFound, False),
    (400, {"code": 1203, "message": "gone"}, TaskNotFound, False),
    (400, {"code": 1200, "message": "Invalid request parameters"}, InvalidRequest, False),
    (400, "<html>bad</html>", InvalidRequest, False),
    (200, {"code": 1201, "message": "bad value"}, InvalidRequest, False),
    (500, None, Unavailable, True),
    (503, {"code": 5001, "message": "maintenance"}, Unavailable, False),  # not processed
    (200, {"code": 5001, "message": "maintenance"}, Unavailable, False),
    (200, {"code": 5000, "message": "internal error"}, Unavailable, True),
    (200, {"code": 1302, "message": "too fast"}, RateLimited, False),
    (504, {"code": 5002, "message": "backlog"}, Unavailable, True),
    (502, "<html>Bad gateway</html>", Unavailable, True),
    (200, "<html>not json</html>", Unavailable, True),
    (200, {"status": "ok"}, Unavailable, True),
    (200, {"code": 0, "message": "SUCCEED", "data": "x"}, Unavailable, True),
    (
        200,
        {"code": 0, "message": "SUCCEED", "data": {"task_status": "submitted"}},
        Unavailable,
        True,
    ),
    (200, {"code": 9999, "message": "new"}, Unavailable, False),
]


@pytest.mark.parametrize("flavour", ["kling", "makevid"])
@pytest.mark.parametrize(("status", "body", "error", "maybe_accepted"), ERRORS)
@pytest.mark.asyncio(loop_scope="module")
async def test_create_errors_map_to_our_classes(
    shared, flavour, status, body, error, maybe_accepted
):
    fake, provider = shared[flavour]
    fake.fail_next(CREATE_PATHS[flavour], status=status, body=body)
    with pytest.raises(error) as caught:
        await provider.submit(request())
    assert type(caught.value) is error
    assert caught.value.maybe_accepted is maybe_accepted
    if isinstance(body, dict) and body.get("message") and error not in (Unavailable, TaskNotFound):
        assert caught.value.message == body["message"]


POLL_ERRORS: list[tuple[int, Any, type[ProviderError]]] = [
    (401, {"code": 1004, "message": "expired"}, AuthFailed),
    (429, {"code": 1102, "message": "no credits"}, NoCredits),
    (429, {"code": 1303, "message": "too many parallel tasks"}, RateLimited),
    (400, {"code": 1301, "message": "content security"}, ContentPolicy),
    (404, None, TaskNotFound),
    (400, {"code": 1200, "message": "Invalid request parameters"}, InvalidRequest),
    (500, None, Unavailable),
    (200, "<html>not json</html>", Unavailable),
    (200, {"code": 0, "message": "SUCCEED"}, Unavailable),
]


@pytest.mark.parametrize("flavour", ["kling", "makevid"])
@pytest.mark.parametrize(("status", "body", "error"), POLL_ERRORS)
@pytest.mark.asyncio(loop_scope="module")
async def test_poll_errors_map_to_our_classes(shared, flavour, status, body, error):
    fake, provider = shared[flavour]
    task_id = await provider.submit(request(job_id=len(fake.tasks) + 1000))
    fake.fail_next(_query_path(flavour, own_id(task_id)), status=status, body=body)
    with pytest.raises(error) as caught:
        await provider.poll([task_id])
    assert type(caught.value) is error
    assert caught.value.maybe_accepted is False
    assert (await provider.poll([task_id]))[task_id].state is JobState.QUEUED  # fault used up


def _query_path(flavour: str, task_id: str) -> str:
    if flavour == "kling":
        return f"/v1/videos/text2video/{task_id}"
    return f"/api/v1/kling/text2video/get_kling/{task_id}"


async def test_no_credits_switch(kling, fake):
    fake.no_credits = True
    with pytest.raises(NoCredits):
        await kling.submit(request())


async def test_rate_limit_honours_retry_after_when_sent(kling, fake):
    body = {"code": 1302, "message": "too fast"}
    fake.fail_next("/v1/videos/text2video", status=429, body=body, headers={"Retry-After": "7"})
    fake.fail_next("/v1/videos/text2video", status=429, body=body)
    for retry_after in (7.0, None):
        with pytest.raises(RateLimited) as caught:
            await kling.submit(request())
        assert (caught.value.retry_after, caught.value.retryable) == (retry_after, True)


# timeouts and connection errors


async def test_create_timeout_may_have_been_accepted(fake, clock):
    provider = KlingProvider(AK, SK, fake.url, timeout=0.2, clock=clock)
    fake.stall("/v1/videos/text2video")
    try:
        with pytest.raises(Unavailable, match="ReadTimeout") as caught:
            await provider.submit(request())
        assert caught.value.maybe_accepted and caught.value.retryable
    finally:
        fake.release()
        await provider.aclose()


async def test_poll_timeout_is_unavailable(mv_fake):
    provider = MakevidProvider(MV_KEY, mv_fake.url, timeout=0.2)
    mv_fake.stall("/api/v1/kling/text2video/get_kling/abc")
    try:
        with pytest.raises(Unavailable, match="ReadTimeout"):
            await provider.poll(["text2video:abc"])
    finally:
        mv_fake.release()
        await provider.aclose()


@pytest.mark.parametrize(
    "make",
    [lambda: KlingProvider(AK, SK, UNREACHABLE), lambda: MakevidProvider(MV_KEY, UNREACHABLE)],
    ids=["kling", "makevid"],
)
async def test_unreachable_host_was_never_asked(make):
    provider: KlingProvider | MakevidProvider = make()
    try:
        with pytest.raises(Unavailable, match="ConnectError") as caught:
            await provider.submit(request())
        assert not caught.value.maybe_accepted
        with pytest.raises(Unavailable):
            await provider.account()
    finally:
        await provider.aclose()


# makevid


async def test_makevid_body_and_headers(makevid, mv_fake):
    task_id = await makevid.submit(
        request(
            JobKind.IMAGE,
            job_id=9,
            prompt="camera pull out",
            negative_prompt="ugly",
            end_image=InputImage(JPEG, "image/jpeg"),
            model="kling-v1",
            duration=10,
            mode="std",
            cfg_scale=0.8,
            callback_url="https://bot.test/cb",
        )
    )
    task = await mv_fake.wait_for_task()
    assert task_id == f"image2video:{task.task_id}"
    rec = mv_fake.requests[-1]
    assert (rec.method, rec.path) == ("POST", "/api/v1/kling/image2video/create_kling")
    assert rec.headers["authorization"] == f"Bearer {MV_KEY}"
    assert rec.json == {
        "prompt": "camera pull out",
        "negative_prompt": "ugly",
        "cfg_scale": 0.8,
        "mode": "std",
        "duration": "10",
        "image": base64.b64encode(PNG).decode(),
        "image_tail": base64.b64encode(JPEG).decode(),
    }
    assert (task.image_bytes, task.image_tail_bytes) == (PNG, JPEG)


async def test_makevid_text2video_and_every_status(makevid, mv_fake):
    task_id = await makevid.submit(request(aspect_ratio="1:1", duration=5))
    assert mv_fake.requests[-1].json == {"prompt": "a cat", "aspect_ratio": "1:1", "duration": "5"}
    assert task_id.startswith("text2video:")
    assert (await makevid.poll([task_id]))[task_id].state is JobState.QUEUED
    assert mv_fake.requests[-1].path == f"/api/v1/kling/text2video/get_kling/{own_id(task_id)}"
    await mv_fake.set_processing(own_id(task_id))
    assert (await makevid.poll([task_id]))[task_id].state is JobState.RUNNING
    url = await mv_fake.finish(own_id(task_id))
    assert (await makevid.poll([task_id]))[task_id].video_url == url
    image = await makevid.submit(request(JobKind.IMAGE, job_id=2))
    await mv_fake.fail(own_id(image), "nope")
    assert (await makevid.poll([image]))[image] == TaskUpdate(image, JobState.FAILED, error="nope")
    assert mv_fake.requests[-1].path.startswith("/api/v1/kling/image2video/get_kling/")
    assert makevid.parse_callback(mv_fake.tasks[own_id(image)].data()) is None


async def test_makevid_custom_poll_path():
    fake = FakeKling(MV_KEY, flavour="makevid", poll_path="/api/v1/get_kling/{task_id}")
    await fake.start()
    provider = MakevidProvider(MV_KEY, fake.url, poll_path="/api/v1/get_kling/{task_id}")
    try:
        task_id = await provider.submit(request())
        assert (await provider.poll([task_id]))[task_id].state is JobState.QUEUED
        assert fake.requests[-1].path == f"/api/v1/get_kling/{own_id(task_id)}"
    finally:
        await provider.aclose()
        await fake.stop()


async def test_makevid_account_proves_the_key_with_an_unknown_task(makevid, mv_fake):
    status = await makevid.account()
    path = "/api/v1/kling/text2video/get_kling/kling-bot-credential-check"
    assert status.balance is None
    assert status.checked.startswith(f"GET {path} ")
    assert mv_fake.requests[-1].path == path
    assert mv_fake.tasks == {}


async def test_makevid_account_with_a_bad_key_or_a_wrong_poll_path(mv_fake):
    bad_key = MakevidProvider("wrong", mv_fake.url)
    wrong_path = MakevidProvider(MV_KEY, mv_fake.url, poll_path="/api/v2/kling/{task_id}")
    try:
        with pytest.raises(AuthFailed):
            await bad_key.account()
        with pytest.raises(InvalidRequest, match="no endpoint GET /api/v2/kling/") as caught:
            await wrong_path.account()
        assert not isinstance(caught.value, TaskNotFound)
    finally:
        await bad_key.aclose()
        await wrong_path.aclose()
