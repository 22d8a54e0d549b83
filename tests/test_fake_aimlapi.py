"""The AI/ML API / Apilaplas fake behaves as the providers' docs say, so provider tests mean
something. Plain httpx here: nothing from `bot/` is involved."""

from __future__ import annotations

import asyncio
import base64
import ssl
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.fakes.aimlapi import (
    AIMLAPI_MODELS,
    APILAPLAS_MODELS,
    BILLING_PATH,
    GENERATION_PATH,
    SAMPLE,
    FakeAimlapi,
)
from tests.fakes.provider import answer_after_stall

KEY = "aimlapi-test-key"
BOT_TOKEN = "123456:AAE-secret-bot-token"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
T2V_MODEL = "kling-video/v1/pro/text-to-video"
I2V_MODEL = "kling-video/v1/pro/image-to-video"
LAPLAS_MODEL = "kling-video/v1.6/standard/image-to-video"
T2V = {"model": T2V_MODEL, "prompt": "a cat surfing"}
I2V = {"model": I2V_MODEL, "prompt": "the cat waves", "image_url": "https://img.test/cat.png"}
LAPLAS = {"model": LAPLAS_MODEL, "prompt": "the cat waves", "image_url": "https://img.test/c.png"}
ERROR_KEYS = {"message", "path", "requestId", "statusCode", "timestamp"}
TLS = ssl.create_default_context()  # shared: each client loading its own costs ~50 ms


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=TLS, **kwargs)


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.fixture
async def fake():
    async with FakeAimlapi(KEY, forbidden=[BOT_TOKEN]) as server:
        yield server


@pytest.fixture
async def client(fake):
    async with http_client(base_url=fake.url, headers={"Authorization": f"Bearer {KEY}"}) as h:
        yield h


@pytest.fixture
async def laplas():
    async with FakeAimlapi(KEY, edition="apilaplas") as server:
        yield server


@pytest.fixture
async def laplas_client(laplas):
    async with http_client(base_url=laplas.url, headers={"Authorization": f"Bearer {KEY}"}) as h:
        yield h


# One server per edition for the many stateless parametrised cases: stopping one costs ~0.2 s.
shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared():
    servers = {edition: FakeAimlapi(KEY, edition=edition) for edition in ("aimlapi", "apilaplas")}
    clients = {}
    for edition, server in servers.items():
        await server.start()
        clients[edition] = http_client(
            base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}
        )
    yield {edition: (servers[edition], clients[edition]) for edition in servers}
    for edition, server in servers.items():
        await clients[edition].aclose()
        await server.stop()


async def create(client, body: dict[str, Any]) -> str:
    response = await client.post(GENERATION_PATH, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def status(client, task_id: str) -> dict[str, Any]:
    response = await client.get(GENERATION_PATH, params={"generation_id": task_id})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# auth, errors and recording


@pytest.mark.parametrize("headers", [{"Authorization": KEY}, {}, {"Authorization": "Bearer no"}])
@pytest.mark.parametrize(
    ("method", "path"), [("POST", GENERATION_PATH), ("GET", GENERATION_PATH), ("GET", BILLING_PATH)]
)
@shared_loop
async def test_every_endpoint_wants_the_bearer_key(shared, headers, method, path):
    server, _ = shared["aimlapi"]
    before = len(server.tasks)
    async with http_client(base_url=server.url, headers=headers) as http:
        response = await http.request(method, path, json=T2V if method == "POST" else None)
    assert response.status_code == 401
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert (body["statusCode"], body["path"], body["message"]) == (401, path, "Unauthorized")
    assert len(server.tasks) == before


async def test_requests_are_recorded_with_headers_and_raw_query(fake, client):
    task_id = await create(client, T2V)
    await client.get(GENERATION_PATH, params={"generation_id": task_id})
    created, polled = fake.requests
    assert created.headers["authorization"] == f"Bearer {KEY}"
    assert created.json == T2V
    assert polled.query == "generation_id=" + task_id.replace(":", "%3A").replace("/", "%2F")


async def test_unknown_path_is_a_404_in_the_error_shape(client):
    response = await client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["message"] == "Cannot GET /v1/nothing"
    assert set(response.json()) == ERROR_KEYS


# validation


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"prompt": "x"}, "model"),
        ({**T2V, "model": "kling-video/v2/master/text-to-video"}, "model"),
        ({"model": T2V_MODEL}, "prompt"),
        ({**T2V, "prompt": "  "}, "prompt"),
        ({**T2V, "duration": 7}, "duration"),
        ({**T2V, "duration": "7"}, "duration"),
        ({**T2V, "duration": True}, "duration"),
        ({**T2V, "aspect_ratio": "4:3"}, "aspect_ratio"),
        ({**T2V, "cfg_scale": 1.5}, "cfg_scale"),
        ({**T2V, "cfg_scale": "1"}, "cfg_scale"),
        ({**T2V, "negative_prompt": 3}, "negative_prompt"),
        ({**T2V, "image_url": "https://img.test/a.png"}, "property image_url should not exist"),
        ({**T2V, "webhook_url": "https://bot.test/hook"}, "property webhook_url"),
        ({"model": I2V_MODEL, "prompt": "x"}, "image_url is required"),
        ({**I2V, "aspect_ratio": "16:9"}, "property aspect_ratio should not exist"),
        ({**I2V, "image_url": "not an image"}, "image_url must be a URL or a base64"),
        ({**I2V, "image_url": "data:text/plain;base64,aGk="}, "image_url"),
        ({**I2V, "image_url": "ftp://img.test/a.png"}, "image_url"),
        ({**I2V, "tail_image_url": "%%%"}, "tail_image_url"),
        ({**I2V, "static_mask_url": "aGk="}, "static_mask_url must be a URL"),
    ],
)
@shared_loop
async def test_invalid_aimlapi_bodies_are_400(shared, body, message):
    server, client = shared["aimlapi"]
    before = len(server.tasks)
    response = await client.post(GENERATION_PATH, json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert set(response.json()) == ERROR_KEYS
    assert len(server.tasks) == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**LAPLAS, "duration": 5}, 'duration must be a string: "5" or "10"'),
        ({**LAPLAS, "duration": "15"}, "duration"),
        ({**T2V, "model": "kling-video/v1.6/standard/text-to-video"}, "model"),
        ({**I2V}, "model"),
        ({"model": LAPLAS_MODEL, "image_url": "https://img.test/a.png"}, "prompt"),
        ({"model": LAPLAS_MODEL, "prompt": "x"}, "image_url is required"),
    ],
)
@shared_loop
async def test_invalid_apilaplas_bodies_are_400(shared, body, message):
    _, client = shared["apilaplas"]
    response = await client.post(GENERATION_PATH, json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]


@pytest.mark.parametrize(
    ("edition", "body"),
    [
        ("aimlapi", {**T2V, "duration": 5, "aspect_ratio": "9:16", "cfg_scale": 0.5}),
        ("aimlapi", {**T2V, "duration": "10", "negative_prompt": "blur", "cfg_scale": 1}),
        ("aimlapi", {**I2V, "duration": 10, "tail_image_url": "https://img.test/end.png"}),
        ("aimlapi", {**I2V, "static_mask_url": "https://img.test/m.png", "dynamic_masks": []}),
        ("aimlapi", {**T2V, "model": "kling-video/v1.6/standard/text-to-video"}),
        ("apilaplas", {**LAPLAS, "duration": "5", "negative_prompt": "blur", "cfg_scale": 1}),
        ("apilaplas", {**LAPLAS, "duration": "10", "tail_image_url": "https://img.test/e.png"}),
    ],
)
@shared_loop
async def test_documented_bodies_are_accepted_with_201(shared, edition, body):
    server, client = shared[edition]
    response = await client.post(GENERATION_PATH, json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "queued"
    assert ":" in answer["id"] and "/" in answer["id"]
    assert server.tasks[answer["id"]].request == body


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{nope", "application/json"), (b"[1]", "application/json"), (b'{"a":1}', "text/plain")],
)
@shared_loop
async def test_body_that_is_not_a_json_object_is_400(shared, content, content_type):
    _, client = shared["aimlapi"]
    response = await client.post(
        GENERATION_PATH, content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400


def test_model_lists_match_the_docs():
    assert "kling-video/v1/pro/text-to-video" in AIMLAPI_MODELS
    assert "kling-video/v1/pro/image-to-video" in AIMLAPI_MODELS
    assert "kling-video/v1.6/standard/image-to-video" in AIMLAPI_MODELS
    assert APILAPLAS_MODELS == ("kling-video/v1.6/standard/image-to-video",)


# images


async def test_base64_images_are_decoded_onto_the_task(fake, client):
    body = {**I2V, "image_url": data_uri(PNG), "tail_image_url": base64.b64encode(JPEG).decode()}
    task = fake.tasks[await create(client, body)]
    assert (task.image_bytes, task.image_mime) == (PNG, "image/png")
    assert (task.tail_image_bytes, task.tail_image_mime) == (JPEG, None)


async def test_url_images_leave_no_bytes(fake, client):
    task = fake.tasks[await create(client, I2V)]
    assert task.image_bytes is None and task.tail_image_bytes is None


# the life of a generation


async def test_generation_goes_queued_generating_completed(fake, client):
    task_id = await create(client, T2V)
    assert await status(client, task_id) == {"id": task_id, "status": "queued"}
    await fake.set_generating(task_id)
    assert await status(client, task_id) == {"id": task_id, "status": "generating"}
    video_url = await fake.finish(task_id)
    assert await status(client, task_id) == {
        "id": task_id,
        "status": "completed",
        "video": {"url": video_url},
    }
    async with http_client() as http:  # a CDN needs no key
        video = await http.get(video_url)
    assert (video.status_code, video.content) == (200, SAMPLE)
    assert video.headers["content-type"] == "video/mp4"
    assert fake.tasks[task_id].poll_count == 3


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("name_message", {"name": "GenerationError", "message": "boom"}),
        ("detail", {"detail": [{"loc": ["body", "prompt"], "msg": "boom", "type": "value_error"}]}),
        ("string", "boom"),
    ],
)
async def test_failed_generation_reports_error_in_each_shape(fake, client, shape, expected):
    task_id = await create(client, T2V)
    await fake.fail(task_id, "boom", shape=shape)
    assert await status(client, task_id) == {"id": task_id, "status": "error", "error": expected}


async def test_set_status_allows_undocumented_states_and_bare_completed(fake, client):
    task_id = await create(client, T2V)
    await fake.set_status(task_id, "paused")
    assert (await status(client, task_id))["status"] == "paused"
    await fake.set_status(task_id, "completed")
    assert await status(client, task_id) == {"id": task_id, "status": "completed"}


async def test_poll_needs_a_known_generation_id(client):
    missing = await client.get(GENERATION_PATH)
    assert (missing.status_code, missing.json()["message"]) == (400, "generation_id is required")
    unknown = await client.get(GENERATION_PATH, params={"generation_id": "kling:nope/1"})
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Generation not found")


async def test_ids_can_be_chosen_and_sent_as_generation_id(fake, client):
    fake.next_ids.append("odd id:+&/=")
    fake.id_key = "generation_id"
    response = await client.post(GENERATION_PATH, json=T2V)
    assert response.json() == {"generation_id": "odd id:+&/=", "status": "queued"}
    assert (await status(client, "odd id:+&/="))["id"] == "odd id:+&/="


async def test_wait_for_task_hands_out_each_task_once_in_order(fake, client):
    first, second = await create(client, T2V), await create(client, T2V)
    assert (await fake.wait_for_task()).task_id == first
    assert (await fake.wait_for_task()).task_id == second
    waiter = asyncio.create_task(fake.wait_for_task())
    third = await create(client, T2V)
    assert (await waiter).task_id == third
    with pytest.raises(AssertionError, match="a new task"):
        await fake.wait_for_task(timeout=0.01)


# credits, billing, faults, stalls


async def test_no_credits_is_403_on_create_only(fake, client):
    task_id = await create(client, T2V)
    fake.credits = 0
    response = await client.post(GENERATION_PATH, json=T2V)
    assert response.status_code == 403
    assert "credits" in response.json()["message"]
    assert (await status(client, task_id))["status"] == "queued"
    assert (await client.get(BILLING_PATH)).json()["balance"] == 0


async def test_billing_reports_the_balance(fake, client):
    response = await client.get(BILLING_PATH)
    assert response.status_code == 200
    assert response.json()["balance"] == fake.credits == 1000


async def test_apilaplas_has_no_billing_endpoint(laplas_client):
    response = await laplas_client.get(BILLING_PATH)
    assert (response.status_code, response.json()["message"]) == (404, f"Cannot GET {BILLING_PATH}")


async def test_fail_next_uses_documented_body_custom_json_or_html(fake, client):
    fake.fail_next(GENERATION_PATH, status=500)
    fake.fail_next(GENERATION_PATH, status=429, body={"message": "slow down"}, times=2)
    fake.fail_next(GENERATION_PATH, status=502, body="<html>Bad gateway</html>")
    first = await client.post(GENERATION_PATH, json=T2V)
    assert first.status_code == 500 and set(first.json()) == ERROR_KEYS
    for _ in range(2):
        limited = await client.post(GENERATION_PATH, json=T2V)
        assert (limited.status_code, limited.json()) == (429, {"message": "slow down"})
    proxy = await client.post(GENERATION_PATH, json=T2V)
    assert (proxy.status_code, proxy.headers["content-type"][:9]) == (502, "text/html")
    assert (await client.post(GENERATION_PATH, json=T2V)).status_code == 201
    assert len(fake.tasks) == 1


async def test_unauthorised_requests_do_not_use_up_a_fault(fake, client):
    fake.fail_next(BILLING_PATH, status=500)
    async with http_client(base_url=fake.url) as anonymous:
        assert (await anonymous.get(BILLING_PATH)).status_code == 401
    assert (await client.get(BILLING_PATH)).status_code == 500
    assert (await client.get(BILLING_PATH)).status_code == 200


async def test_stalled_path_answers_only_after_release(fake, client):
    answer = await answer_after_stall(fake, BILLING_PATH, client.get(BILLING_PATH))
    assert answer.status_code == 200


# forbidden content


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"method": "POST", "url": GENERATION_PATH, "json": {**T2V, "prompt": f"x {BOT_TOKEN}"}},
        {"method": "GET", "url": GENERATION_PATH, "params": {"generation_id": BOT_TOKEN}},
        {"method": "GET", "url": BILLING_PATH, "headers": {"X-Debug": BOT_TOKEN}},
    ],
)
async def test_forbidden_strings_are_refused_and_recorded_as_leaks(fake, client, request_kwargs):
    response = await client.request(**request_kwargs)
    assert response.status_code == 400
    assert response.json()["message"] == "forbidden content"
    assert fake.leaks == [fake.requests[-1]]
    assert fake.tasks == {}
