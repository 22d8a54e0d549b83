"""AimlapiProvider and ApilaplasProvider against the fake, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers.aimlapi import (
    GENERATION_PATH,
    POLL_CONCURRENCY,
    AimlapiProvider,
    ApilaplasProvider,
    provider_model,
)
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
    retry_after,
    unsupported,
)
from tests.fakes.aimlapi import (
    AIMLAPI_MODELS,
    APILAPLAS_MODELS,
    BILLING_PATH,
    NEWER_MODELS,
    UNIVERSAL_MODELS,
    FakeAimlapi,
)

KEY = "aimlapi-test-key"
BOT_TOKEN = "123456:AAE-secret-bot-token"
TG_FILE_URL = f"https://api.telegram.org/file/bot{BOT_TOKEN}/photos/file_1.jpg"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(255, -1, -1)) * 4
PROMPT = "a cat surfing"


def text_request(**fields: Any) -> VideoRequest:
    return VideoRequest(job_id=1, kind=JobKind.TEXT, prompt=PROMPT, **fields)


def image_request(**fields: Any) -> VideoRequest:
    fields.setdefault("image", InputImage(PNG, "image/png"))
    return VideoRequest(job_id=2, kind=JobKind.IMAGE, prompt=PROMPT, **fields)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY, forbidden=[BOT_TOKEN])
    await server.start()
    yield server
    await server.stop()
    assert server.leaks == []


@pytest.fixture
async def laplas() -> AsyncIterator[FakeAimlapi]:
    server = FakeAimlapi(KEY, edition="apilaplas", forbidden=[BOT_TOKEN])
    await server.start()
    yield server
    await server.stop()
    assert server.leaks == []


@pytest.fixture
async def provider(fake: FakeAimlapi) -> AsyncIterator[AimlapiProvider]:
    prov = AimlapiProvider(KEY, fake.url)
    yield prov
    await prov.aclose()


@pytest.fixture
async def laplas_provider(laplas: FakeAimlapi) -> AsyncIterator[ApilaplasProvider]:
    prov = ApilaplasProvider(KEY, laplas.url)
    yield prov
    await prov.aclose()


# One server for the many stateless parametrised cases: stopping a server costs ~0.2 s.
shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared() -> AsyncIterator[tuple[FakeAimlapi, AimlapiProvider]]:
    server = FakeAimlapi(KEY, forbidden=[BOT_TOKEN])
    await server.start()
    prov = AimlapiProvider(KEY, server.url)
    yield server, prov
    await prov.aclose()
    await server.stop()
    assert server.leaks == []


async def submit_and_get(fake: FakeAimlapi, provider: AimlapiProvider, request: VideoRequest):
    task_id = await provider.submit(request)
    task = await fake.wait_for_task()
    assert task.task_id == task_id
    return task


def test_both_classes_satisfy_the_protocol():
    providers: list[VideoProvider] = [
        AimlapiProvider(KEY, "http://127.0.0.1:1"),
        ApilaplasProvider(KEY, "http://127.0.0.1:1"),
    ]
    assert [p.name for p in providers] == ["aimlapi", "apilaplas"]


# request bodies and headers


async def test_text_to_video_body_and_headers(fake, provider):
    request = text_request(
        model="kling-v1",
        mode="pro",
        duration=10,
        aspect_ratio="9:16",
        negative_prompt="blur",
        cfg_scale=0.5,
        callback_url="https://bot.test/hook",
        callback_secret="s3cret",
    )
    task = await submit_and_get(fake, provider, request)
    rec = await fake.wait_for(GENERATION_PATH)
    assert rec.json == {
        "model": "kling-video/v1/pro/text-to-video",
        "prompt": PROMPT,
        "aspect_ratio": "9:16",
        "duration": 10,
        "negative_prompt": "blur",
        "cfg_scale": 0.5,
    }
    assert rec.headers["authorization"] == f"Bearer {KEY}"
    assert rec.headers["content-type"] == "application/json"
    assert ":" in task.task_id and "/" in task.task_id


async def test_defaults_are_the_first_model_in_standard_mode_and_nothing_optional(fake, provider):
    task = await submit_and_get(fake, provider, text_request())
    assert task.request == {"model": "kling-video/v1.6/standard/text-to-video", "prompt": PROMPT}


async def test_image_to_video_sends_base64_data_uris_that_arrive_intact(fake, provider):
    request = image_request(
        end_image=InputImage(JPEG, "image/jpeg", url=TG_FILE_URL),  # bytes win over any URL
        model="kling-v1-5",
        mode="pro",
        duration=5,
        aspect_ratio="1:1",  # text-to-video only: not sent
    )
    task = await submit_and_get(fake, provider, request)
    assert task.request == {
        "model": "kling-video/v1.5/pro/image-to-video",
        "prompt": PROMPT,
        "image_url": data_uri(PNG, "image/png"),
        "tail_image_url": data_uri(JPEG, "image/jpeg"),
        "duration": 5,
    }
    assert (task.image_bytes, task.image_mime) == (PNG, "image/png")
    assert (task.tail_image_bytes, task.tail_image_mime) == (JPEG, "image/jpeg")


async def test_image_without_bytes_is_sent_by_url(fake, provider):
    url = "https://bot.test/frames/1.png"
    task = await submit_and_get(
        fake, provider, image_request(image=InputImage(b"", "image/png", url))
    )
    assert task.request["image_url"] == url
    assert task.image_bytes is None


async def test_apilaplas_sends_duration_as_a_string(laplas, laplas_provider):
    request = image_request(end_image=InputImage(JPEG, "image/jpeg"), duration=10, cfg_scale=1.0)
    task = await submit_and_get(laplas, laplas_provider, request)
    assert task.request == {
        "model": "kling-video/v1.6/standard/image-to-video",
        "prompt": PROMPT,
        "image_url": data_uri(PNG, "image/png"),
        "tail_image_url": data_uri(JPEG, "image/jpeg"),
        "duration": "10",
        "cfg_scale": 1.0,
    }
    assert task.image_bytes == PNG and task.tail_image_bytes == JPEG
    rec = await laplas.wait_for(GENERATION_PATH)
    assert rec.headers["authorization"] == f"Bearer {KEY}"


async def test_aimlapi_duration_stays_an_integer(fake, provider):
    task = await submit_and_get(fake, provider, text_request(duration=5))
    assert task.request["duration"] == 5 and isinstance(task.request["duration"], int)


@pytest.mark.parametrize(
    ("make", "request_"),
    [
        (AimlapiProvider, image_request(image=None)),
        (AimlapiProvider, image_request(image=InputImage(b"", "image/png"))),
        (AimlapiProvider, text_request(model="kling-v2-6")),
        (AimlapiProvider, text_request(model="kling-v2-1")),  # image-to-video only
        (AimlapiProvider, text_request(mode="turbo")),
        (ApilaplasProvider, text_request()),
        (ApilaplasProvider, image_request(mode="pro")),
        (ApilaplasProvider, image_request(model="kling-v1")),
    ],
)
async def test_requests_it_cannot_express_are_refused_before_any_http(make, request_):
    provider = make(KEY, "http://127.0.0.1:1")  # nothing listens: an HTTP call would fail otherwise
    try:
        with pytest.raises(InvalidRequest):
            await provider.submit(request_)
    finally:
        await provider.aclose()


async def test_generation_id_key_is_accepted_and_missing_id_is_unavailable(fake, provider):
    fake.id_key = "generation_id"
    task = await submit_and_get(fake, provider, text_request())
    assert task.task_id in fake.tasks
    fake.fail_next(GENERATION_PATH, status=201, body={"status": "queued"})
    with pytest.raises(Unavailable, match="unreadable answer") as caught:
        await provider.submit(text_request())
    assert caught.value.maybe_accepted


# polling


async def test_every_status_maps_to_our_states(fake, provider):
    ids = [await provider.submit(text_request()) for _ in range(6)]
    queued, running, done, failed, bare, odd = ids
    await fake.set_generating(running)
    video_url = await fake.finish(done)
    await fake.fail(failed, "the prompt was refused")
    await fake.set_status(bare, "completed")
    await fake.set_status(odd, "paused")
    updates = await provider.poll(ids)
    assert updates == {
        queued: TaskUpdate(queued, JobState.QUEUED),
        running: TaskUpdate(running, JobState.RUNNING),
        done: TaskUpdate(done, JobState.SUCCEEDED, progress=100, video_url=video_url),
        failed: TaskUpdate(failed, JobState.FAILED, error="the prompt was refused"),
        bare: TaskUpdate(bare, JobState.FAILED, error=Reason.of("no_video_sent")),
    }


async def test_unknown_status_is_left_out_with_a_warning(fake, provider, caplog):
    task_id = await provider.submit(text_request())
    await fake.set_status(task_id, "paused")
    with caplog.at_level(logging.WARNING, logger="bot.providers.aimlapi"):
        assert await provider.poll([task_id]) == {}
    assert "unknown status 'paused'" in caplog.text


@pytest.mark.parametrize(
    ("shape", "error", "expected"),
    [
        ("name_message", "Generation failed: NSFW", "Generation failed: NSFW"),
        ("detail", "prompt too long", "prompt too long"),
        ("string", "out of capacity", "out of capacity"),
    ],
)
@shared_loop
async def test_each_error_shape_gives_a_reason(shared, shape, error, expected):
    fake, provider = shared
    task_id = await provider.submit(text_request())
    await fake.fail(task_id, error, shape=shape)
    assert (await provider.poll([task_id]))[task_id].error == expected


async def test_errors_without_a_message_still_give_a_reason(fake, provider):
    ids = [await provider.submit(text_request()) for _ in range(3)]
    errors = [{"name": "Timeout"}, {"detail": [{"loc": ["x"]}]}, None]
    for task_id, error in zip(ids, errors, strict=True):
        await fake.fail(task_id)
        fake.tasks[task_id].error = error
    updates = await provider.poll(ids)
    assert [updates[i].error for i in ids] == [
        "Timeout",
        Reason.of("no_reason"),
        Reason.of("no_reason"),
    ]


async def test_ids_with_colon_slash_and_more_round_trip_encoded(fake, provider):
    odd = "kling:abc/123 +&=?#%"
    fake.next_ids.append(odd)
    assert await provider.submit(text_request()) == odd
    await fake.finish(odd)
    assert (await provider.poll([odd]))[odd].state is JobState.SUCCEEDED
    rec = await fake.wait_for(GENERATION_PATH, lambda r: r.method == "GET")
    assert rec.query == "generation_id=kling%3Aabc%2F123+%2B%26%3D%3F%23%25"


async def test_polls_run_concurrently_but_bounded(fake, provider):
    ids = [await provider.submit(text_request()) for _ in range(POLL_CONCURRENCY + 3)]
    fake.stall(GENERATION_PATH)
    polling = asyncio.create_task(provider.poll(ids))
    await fake.wait(lambda: fake.in_flight >= POLL_CONCURRENCY or None, 5.0, "parallel polls")
    with pytest.raises(AssertionError):  # nothing more may start while the first ones hang
        await fake.wait(lambda: fake.in_flight > POLL_CONCURRENCY or None, 0.1, "too many")
    fake.release()
    assert set(await polling) == set(ids)
    assert fake.peak_in_flight == POLL_CONCURRENCY


async def test_poll_of_nothing_sends_nothing(fake, provider):
    assert await provider.poll([]) == {}
    assert fake.requests == []


async def test_duplicate_ids_are_polled_once(fake, provider):
    task_id = await provider.submit(text_request())
    assert set(await provider.poll([task_id, task_id])) == {task_id}
    assert fake.tasks[task_id].poll_count == 1


async def test_a_failed_poll_leaves_only_that_id_out(fake, provider, caplog):
    good = await provider.submit(text_request())
    with caplog.at_level(logging.WARNING, logger="bot.providers.aimlapi"):
        updates = await provider.poll([good, "kling:gone/1"])
    assert set(updates) == {good}
    assert "kling:gone/1" in caplog.text and "Generation not found" in caplog.text


async def test_different_failures_on_every_id_return_nothing(fake, provider):
    good = await provider.submit(text_request())
    fake.fail_next(GENERATION_PATH, status=503)
    assert await provider.poll([good, "kling:gone/1"]) == {}


async def test_the_same_failure_on_every_id_is_raised(fake):
    ids = ["kling:a/1", "kling:b/2", "kling:c/3"]
    bad_key = AimlapiProvider("wrong-key", fake.url)
    try:
        with pytest.raises(AuthFailed):
            await bad_key.poll(ids)
    finally:
        await bad_key.aclose()
    assert sum(r.method == "GET" for r in fake.requests) == len(ids)


# HTTP errors


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (400, {"message": "prompt is too vague"}, InvalidRequest, "prompt is too vague"),
        (400, {"message": ["a is bad", "b is bad"]}, InvalidRequest, "a is bad; b is bad"),
        (400, None, InvalidRequest, "Bad Request"),
        (400, {"message": "Rejected by content moderation"}, ContentPolicy, "moderation"),
        (400, {"message": "Prompt violates our safety policy"}, ContentPolicy, "safety"),
        (401, None, AuthFailed, "Unauthorized"),
        (403, None, NoCredits, "Insufficient credits"),
        (403, {}, NoCredits, "no credits left"),
        (404, None, InvalidRequest, "Not Found"),
        (409, {}, InvalidRequest, "HTTP 409"),
        (429, None, RateLimited, "Too Many Requests"),
        (500, None, Unavailable, "Internal server error"),
        (502, "<html>Bad gateway</html>", Unavailable, "HTTP 502"),
        (503, {}, Unavailable, "HTTP 503"),
        (504, None, Unavailable, "Internal server error"),
    ],
)
@shared_loop
async def test_http_errors_map_to_our_classes(shared, status, body, error, message):
    fake, provider = shared
    before = len(fake.tasks)
    fake.fail_next(GENERATION_PATH, status=status, body=body)
    with pytest.raises(ProviderError) as caught:
        await provider.submit(text_request())
    assert type(caught.value) is error
    assert message in caught.value.message
    # Only a 500, 502 or 504 may hide a started job: a 503 is "not processed", for every provider.
    assert caught.value.maybe_accepted is (status in (500, 502, 504))
    assert len(fake.tasks) == before


async def test_bad_key_and_no_credits_from_the_fake_itself(fake):
    bad = AimlapiProvider("nope", fake.url)
    try:
        with pytest.raises(AuthFailed):
            await bad.submit(text_request())
    finally:
        await bad.aclose()
    fake.credits = 0
    good = AimlapiProvider(KEY, fake.url)
    try:
        with pytest.raises(NoCredits, match="credits"):
            await good.submit(text_request())
    finally:
        await good.aclose()


@pytest.mark.parametrize(
    ("header", "seconds"), [("7", 7.0), ("1.5", 1.5), (None, None), ("soon", None)]
)
@shared_loop
async def test_429_honoursretry_after(shared, header, seconds):
    fake, provider = shared
    headers = {} if header is None else {"Retry-After": header}
    fake.fail_next(GENERATION_PATH, status=429, body={"message": "slow down"}, headers=headers)
    with pytest.raises(RateLimited) as caught:
        await provider.submit(text_request())
    assert caught.value.retry_after == seconds
    assert caught.value.retryable


def test_retry_after_accepts_http_dates():
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert (retry_after("Fri, 01 Jan 2100 00:00:00 GMT") or 0) > 3000
    assert retry_after("nan") is None


async def test_timeout_on_submit_is_unavailable_and_maybe_accepted(fake):
    fake.stall(GENERATION_PATH)
    impatient = AimlapiProvider(KEY, fake.url, timeout=0.05)
    try:
        with pytest.raises(Unavailable, match="ReadTimeout") as caught:
            await impatient.submit(text_request())
        assert caught.value.maybe_accepted and caught.value.retryable
        with pytest.raises(Unavailable):  # the only id failed: the error surfaces
            await impatient.poll(["kling:a/1"])
    finally:
        fake.release()
        await impatient.aclose()


async def test_unreachable_provider_is_unavailable_and_certainly_not_accepted():
    provider = AimlapiProvider(KEY, "http://127.0.0.1:1")
    try:
        with pytest.raises(Unavailable, match="unreachable") as caught:
            await provider.submit(text_request())
        assert not caught.value.maybe_accepted
    finally:
        await provider.aclose()


@pytest.mark.parametrize("status", [200, 201])
@shared_loop
async def test_unreadable_json_is_unavailable(shared, status):
    fake, provider = shared
    fake.fail_next(GENERATION_PATH, status=status, body="<html>not json</html>")
    with pytest.raises(Unavailable, match="unreadable") as caught:
        await provider.submit(text_request())
    assert caught.value.maybe_accepted  # a 2xx means the job may well exist
    task_id = await provider.submit(text_request())
    fake.fail_next(GENERATION_PATH, status=200, body="{truncated")
    with pytest.raises(Unavailable, match="unreadable"):
        await provider.poll([task_id])


# account, callbacks, capabilities


async def test_aimlapi_account_reports_the_balance(fake, provider):
    assert await provider.account() == AccountStatus(
        "1000 credits", f"GET {BILLING_PATH}", credits=1000.0
    )
    fake.fail_next(BILLING_PATH, status=200, body={"status": "current"})
    unsaid = await provider.account()
    assert (unsaid.balance, unsaid.credits) == (None, None)
    fake.fail_next(BILLING_PATH, status=401)
    with pytest.raises(AuthFailed):
        await provider.account()


async def test_apilaplas_account_probes_the_status_endpoint(laplas, laplas_provider):
    status = await laplas_provider.account()
    assert status.balance is None
    assert status.checked.startswith(f"GET {GENERATION_PATH}?generation_id=")
    rec = await laplas.wait_for(GENERATION_PATH)
    assert rec.method == "GET" and rec.query.startswith("generation_id=")
    assert laplas.tasks == {}
    bad = ApilaplasProvider("nope", laplas.url)
    try:
        with pytest.raises(AuthFailed):
            await bad.account()
    finally:
        await bad.aclose()


def test_no_callbacks():
    provider = AimlapiProvider(KEY, "http://127.0.0.1:1")
    assert provider.parse_callback({"id": "x", "status": "completed"}) is None
    assert not provider.capabilities.callbacks


@pytest.mark.parametrize(
    ("cls", "known"),
    [
        (AimlapiProvider, AIMLAPI_MODELS + NEWER_MODELS + UNIVERSAL_MODELS),
        (ApilaplasProvider, APILAPLAS_MODELS),
    ],
)
def test_every_declared_combination_maps_to_a_model_the_provider_knows(cls, known):
    caps = cls.capabilities
    combos = caps.combos or {
        (model, kind, mode)
        for kind in caps.kinds - {JobKind.EFFECT, JobKind.REFS}  # these have models of their own
        for model in caps.models
        for mode in caps.modes
    }
    for model, kind, mode in combos:
        assert provider_model(model, kind, mode) in known


def test_declared_capabilities():
    aiml, laplas = AimlapiProvider.capabilities, ApilaplasProvider.capabilities
    assert aiml.kinds == {JobKind.TEXT, JobKind.IMAGE, JobKind.EFFECT, JobKind.REFS}
    assert aiml.models[:3] == ("kling-v1-6", "kling-v1-5", "kling-v1")
    assert aiml.modes == {"std", "pro"}
    assert aiml.aspect_ratios == ("16:9", "9:16", "1:1")
    assert laplas.kinds == {JobKind.IMAGE}
    assert (laplas.models, laplas.modes) == (("kling-v1-6",), frozenset({"std"}))
    for caps in (aiml, laplas):
        assert caps.end_frame and not caps.image_by_url_only and not caps.callbacks
        assert caps.durations == {5, 10}
    assert provider_model("kling-v1-6", JobKind.IMAGE, "std") == (
        "kling-video/v1.6/standard/image-to-video"
    )
    assert unsupported(laplas, text_request()) is not None
    with pytest.raises(InvalidRequest):
        provider_model("kling-v2-6", JobKind.TEXT, "std")
