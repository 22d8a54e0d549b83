"""APIFRAME v2 (`apiframe2`): the exact body per model against the fake (which rejects every
field a model's schema does not list), refusals with words and no request, polling, the
error table, `check`, and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Reason
from bot.jobs import JobKind, JobState
from bot.providers import REGISTRY
from bot.providers.apiframe2 import Apiframe2Provider, create_body
from bot.providers.base import (
    AuthFailed,
    InputImage,
    InvalidRequest,
    NoCredits,
    RateLimited,
    SignsCallbacks,
    Unavailable,
    VideoRequest,
    unsupported,
)
from tests.e2e.conftest import jpeg
from tests.fakes.apiframe2 import FakeApiframe2, signature, validate_generate
from tests.fakes.server import LocalServer

KEY = "afk_0000000000000000000000000000000000000000"
JPEG = jpeg()
CAPS = Apiframe2Provider.capabilities


@pytest.fixture
async def fake() -> AsyncIterator[FakeApiframe2]:
    server = FakeApiframe2(KEY)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def provider(fake: FakeApiframe2) -> AsyncIterator[Apiframe2Provider]:
    client = Apiframe2Provider(KEY, fake.url)
    yield client
    await client.aclose()


@pytest.fixture
async def image_host() -> AsyncIterator[str]:
    """Serves `JPEG` at `/in.jpg` and `/end.jpg`, as the bot's `/media/` links would."""

    async def image(request: Any) -> Response:
        return Response(JPEG, media_type="image/jpeg")

    server = LocalServer(Starlette(routes=[Route("/{name}", image)]))
    url = await server.start()
    yield url
    await server.stop()


def text(**fields: Any) -> VideoRequest:
    fields.setdefault("prompt", "a red fox")
    return VideoRequest(job_id=7, kind=JobKind.TEXT, **fields)


def photo(host: str, *, end: bool = False, **fields: Any) -> VideoRequest:
    return VideoRequest(
        job_id=8,
        kind=JobKind.IMAGE,
        prompt="it runs",
        image=InputImage(JPEG, "image/jpeg", url=f"{host}/in.jpg"),
        end_image=InputImage(JPEG, "image/jpeg", url=f"{host}/end.jpg") if end else None,
        **fields,
    )


async def sent(fake: FakeApiframe2, provider: Apiframe2Provider, request: VideoRequest) -> Any:
    assert unsupported(CAPS, request) is None
    job_id = await provider.submit(request)
    (create,) = [r for r in fake.requests if r.path == "/v2/videos/generate"]
    assert create.headers["x-api-key"] == KEY
    assert fake.tasks[job_id].request == create.json
    return create.json


def test_registered_with_its_settings():
    spec = REGISTRY["apiframe2"]
    settings = spec.settings(_env_file=None, api_key="afk_x")
    assert settings.base_url == "https://api.apiframe.ai"
    assert settings.secrets() == ["afk_x"]
    assert settings.missing() == []
    assert spec.settings(_env_file=None).missing() == ["APIFRAME2_API_KEY"]


@pytest.mark.parametrize(
    ("fields", "body"),
    [
        (
            {},
            {"model": "kling-2.1", "prompt": "a red fox", "klingParams": {"mode": "standard"}},
        ),
        (
            {"model": "kling-v2-1", "mode": "pro", "duration": 10, "negative_prompt": "blur"},
            {
                "model": "kling-2.1",
                "prompt": "a red fox",
                "klingParams": {"mode": "pro", "duration": 10, "negative_prompt": "blur"},
            },
        ),
        (
            {"model": "kling-v2-1-master", "aspect_ratio": "9:16", "duration": 5},
            {
                "model": "kling-2.1-master",
                "prompt": "a red fox",
                "klingParams": {"duration": 5, "aspect_ratio": "9:16"},
            },
        ),
        (
            {"model": "kling-v2-5-turbo", "mode": "pro", "aspect_ratio": "1:1", "cfg_scale": 0.3},
            {
                "model": "kling-2.5-turbo-pro",
                "prompt": "a red fox",
                "klingParams": {"aspect_ratio": "1:1", "guidance_scale": 0.3},
            },
        ),
        (
            {"model": "kling-v2-6", "mode": "pro", "sound": True, "duration": 10},
            {
                "model": "kling-2.6",
                "prompt": "a red fox",
                "klingParams": {"duration": 10, "generate_audio": True},
            },
        ),
        (
            {"model": "kling-v2-6", "mode": "pro", "sound": False},
            {"model": "kling-2.6", "prompt": "a red fox", "klingParams": {"generate_audio": False}},
        ),
        (
            {"model": "kling-v2-6", "mode": "pro"},
            {"model": "kling-2.6", "prompt": "a red fox"},
        ),
    ],
)
async def test_text_to_video_bodies(fake, provider, fields, body):
    assert await sent(fake, provider, text(**fields)) == body


@pytest.mark.parametrize(
    ("model", "mode", "end", "theirs", "extra"),
    [
        ("kling-v2-1", "pro", True, "kling-2.1", {"mode": "pro"}),
        ("kling-v2-1", "std", False, "kling-2.1", {"mode": "standard"}),
        ("kling-v2-1-master", "std", False, "kling-2.1-master", {}),
        ("kling-v2-5-turbo", "pro", True, "kling-2.5-turbo-pro", {}),
        ("kling-v2-6", "pro", False, "kling-2.6", {}),
    ],
)
async def test_image_to_video_sends_our_links_and_they_arrive(
    fake, provider, image_host, model, mode, end, theirs, extra
):
    request = photo(image_host, end=end, model=model, mode=mode)
    body = await sent(fake, provider, request)
    images = {"start_image": f"{image_host}/in.jpg"}
    if end:
        images["end_image"] = f"{image_host}/end.jpg"
    assert body == {"model": theirs, "prompt": "it runs", "klingParams": {**extra, **images}}
    (job,) = fake.tasks.values()
    assert job.status == "QUEUED"
    assert {name: data for name, (data, _) in job.fetched_images.items()} == dict.fromkeys(
        images, JPEG
    )


async def test_the_callback_url_asks_for_every_event(fake, provider):
    body = await sent(fake, provider, text(callback_url="https://bot.example/callbacks/x/t"))
    assert body["webhookUrl"] == "https://bot.example/callbacks/x/t"
    assert body["webhookEvents"] == ["progress", "completed", "failed"]


@pytest.mark.parametrize(
    ("request_", "key"),
    [
        (text(model="kling-v2-6", mode="std"), "not_offered_here"),
        (text(model="kling-v2-5-turbo"), "not_offered_here"),  # std by default; turbo is pro
        (text(model="kling-v1-6"), "choose_model"),
        (text(camera="zoom_in"), "no_camera_text"),
        (text(sound=True), "sound_needs"),  # kling-v2-1 makes no sound
        (text(model="kling-v2-1-master", sound=True), "sound_needs"),
        (text(duration=16), "choose_duration"),  # no model here makes 16 s
        (text(duration=15), "choose_duration_for_model"),  # kling-v3 does; kling-v2-1 does not
        (text(duration=3, model="kling-v2-6", mode="pro"), "choose_duration_for_model"),
        (text(aspect_ratio="4:3", model="kling-v2-6", mode="pro"), "choose_aspect_ratio"),
        (text(prompt="x" * 4001), "prompt_too_long"),
        (VideoRequest(job_id=1, kind=JobKind.EFFECT, prompt="", effect="hug"), "no_effects"),
        (VideoRequest(job_id=1, kind=JobKind.EXTEND, prompt="", extend_of="t"), "no_extend"),
    ],
)
def test_undocumented_options_are_refused_with_words(request_, key):
    reason = unsupported(CAPS, request_)
    assert reason is not None and reason.key == key


def test_an_end_frame_only_where_the_schema_lists_end_image():
    image = InputImage(JPEG, "image/jpeg", url="https://bot.example/media/a")
    for model, mode in (("kling-v2-1", "std"), ("kling-v2-1-master", "std"), ("kling-v2-6", "pro")):
        request = VideoRequest(
            job_id=1, kind=JobKind.IMAGE, prompt="p", image=image, end_image=image,
            model=model, mode=mode,
        )  # fmt: skip
        reason = unsupported(CAPS, request)
        assert reason == Reason.of(
            "end_frame_models",
            models="kling-v2-1 pro, kling-v2-5-turbo pro, kling-v3 pro, kling-v3 std",
        ), model


@pytest.mark.parametrize(
    ("request_", "option", "models"),
    [
        (
            text(aspect_ratio="16:9"),
            "--ratio",
            "kling-v2-1-master, kling-v2-5-turbo, kling-v2-6, kling-v3",
        ),
        (text(cfg_scale=0.5), "--cfg", "kling-v2-5-turbo"),
        (text(model="kling-v2-6", mode="pro", cfg_scale=0.5), "--cfg", "kling-v2-5-turbo"),
    ],
)
async def test_fields_a_models_schema_does_not_list_are_refused_before_any_request(
    fake, provider, request_, option, models
):
    with pytest.raises(InvalidRequest) as caught:
        await provider.submit(request_)
    assert caught.value.reason == Reason.of("option_needs_model", option=option, models=models)
    assert fake.requests == []


def test_a_photo_needs_a_public_link():
    request = VideoRequest(
        job_id=1, kind=JobKind.IMAGE, prompt="p", image=InputImage(JPEG, "image/jpeg")
    )
    with pytest.raises(InvalidRequest) as caught:
        create_body(request)
    assert caught.value.reason == Reason.of("no_provider_for_images")


def test_the_fake_rejects_what_the_spec_does_not_list():
    assert validate_generate({"model": "kling-2.1", "prompt": "p"}) == []
    assert validate_generate(
        {"model": "kling-2.1", "prompt": "p", "klingParams": {"aspect_ratio": "16:9"}}
    ) == ["klingParams: unrecognized key for kling-2.1: aspect_ratio"]
    assert validate_generate(
        {"model": "kling-2.5-turbo-pro", "prompt": "p", "klingParams": {"cfg_scale": 0.5}}
    ) == ["klingParams: unrecognized key for kling-2.5-turbo-pro: cfg_scale"]
    assert validate_generate({"model": "kling-2.6", "prompt": "p", "aspect_ratio": "1:1"}) == [
        "unrecognized key: aspect_ratio"
    ]


async def test_poll_follows_a_job_through_its_states(fake, provider):
    job_id = await provider.submit(text())
    assert (await provider.poll([job_id]))[job_id].state is JobState.QUEUED
    await fake.set_processing(job_id, 40)
    update = (await provider.poll([job_id]))[job_id]
    assert (update.state, update.progress) == (JobState.RUNNING, 40)
    url = await fake.finish(job_id)
    update = (await provider.poll([job_id]))[job_id]
    assert (update.state, update.video_url, update.progress) == (JobState.SUCCEEDED, url, 100)
    assert all(r.method == "GET" for r in fake.requests if r.path.startswith("/v2/jobs/"))


async def test_a_failed_job_carries_its_error(fake, provider):
    job_id = await provider.submit(text())
    await fake.fail(job_id, "content rejected")
    update = (await provider.poll([job_id]))[job_id]
    assert (update.state, update.error) == (JobState.FAILED, "content rejected")


async def test_an_unknown_job_among_known_ones_is_left_out(fake, provider):
    job_id = await provider.submit(text())
    assert set(await provider.poll([job_id, "no-such-job"])) == {job_id}
    with pytest.raises(InvalidRequest):  # alone, its 404 is raised, not swallowed
        await provider.poll(["no-such-job"])


@pytest.mark.parametrize(
    ("status", "error", "maybe_accepted"),
    [
        (401, AuthFailed, False),
        (402, NoCredits, False),
        (429, RateLimited, False),
        (500, Unavailable, True),
        (400, InvalidRequest, False),
    ],
)
async def test_submit_errors_follow_the_shared_table(fake, provider, status, error, maybe_accepted):
    fake.fail_next("/v2/videos/generate", status=status)
    with pytest.raises(error) as caught:
        await provider.submit(text())
    assert caught.value.maybe_accepted is maybe_accepted
    assert not fake.tasks


async def test_check_calls_me_and_a_bad_key_is_an_auth_failure(fake, provider):
    status = await provider.account()
    assert (status.checked, status.balance) == ("GET /v2/me", None)
    wrong = Apiframe2Provider("afk_wrong", fake.url)
    try:
        with pytest.raises(AuthFailed):
            await wrong.account()
    finally:
        await wrong.aclose()


def test_signatures_are_checked_on_the_raw_bytes():
    provider = Apiframe2Provider(KEY, "http://127.0.0.1:9")
    assert isinstance(provider, SignsCallbacks)
    body = b'{"jobId": "abc", "status": "COMPLETED"}'
    good = signature(KEY, body)
    secret = hashlib.sha256(KEY.encode()).digest()  # the documented key: SHA-256(apiKey)
    assert good == "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    assert provider.callback_signed({"x-webhook-signature": good}, body)
    assert provider.callback_signed({"x-webhook-signature": good.removeprefix("sha256=")}, body)
    assert not provider.callback_signed({}, body)
    assert not provider.callback_signed({"x-webhook-signature": good}, body + b" ")
    assert not provider.callback_signed({"x-webhook-signature": signature("afk_other", body)}, body)
    assert not provider.callback_signed({"x-webhook-signature": "sha256=zz"}, body)
    hex_key = hashlib.sha256(KEY.encode()).hexdigest().encode()  # the hex digest is not the key
    forged = "sha256=" + hmac.new(hex_key, body, hashlib.sha256).hexdigest()
    assert not provider.callback_signed({"x-webhook-signature": forged}, body)


def test_callbacks_parse_as_job_updates():
    provider = Apiframe2Provider(KEY, "http://127.0.0.1:9")
    done = {"jobId": "j1", "status": "COMPLETED", "result": {"videoUrl": "https://cdn/x.mp4"}}
    update = provider.parse_callback(done)
    assert update is not None
    assert (update.task_id, update.state, update.video_url) == (
        "j1",
        JobState.SUCCEEDED,
        "https://cdn/x.mp4",
    )
    assert provider.parse_callback({"status": "COMPLETED"}) is None
    assert provider.parse_callback({"jobId": "j1", "status": "WEIRD"}) is None
    nothing = provider.parse_callback({"jobId": "j1", "status": "COMPLETED", "result": None})
    assert nothing is not None and nothing.state is JobState.FAILED
