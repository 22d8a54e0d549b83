"""The APIFRAME fake behaves as the provider's docs say, so bot tests against it mean something."""

from __future__ import annotations

import asyncio
import ssl
import uuid
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.apiframe import SAMPLE, FakeApiframe
from tests.fakes.media import SAMPLE_MP4, MediaHost
from tests.fakes.provider import answer_after_stall
from tests.fakes.server import LocalServer

KEY = "apiframe-test-key"
BOT_TOKEN = "123456:AAE-secret-bot-token"
TG_FILE_URL = f"https://api.telegram.org/file/bot{BOT_TOKEN}/photos/file_1.jpg"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
T2V = {"prompt": "a cat surfing", "generation_type": "text2video"}
UNREACHABLE = "http://127.0.0.1:1/nothing"
TLS = ssl.create_default_context()  # shared: each client loading its own costs ~50 ms


def http_client(**kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=TLS, **kwargs)


class Neighbour:
    """What the fake talks to on its own: image hosts and the bot's webhook receiver."""

    def __init__(self) -> None:
        self.hooks: list[tuple[dict[str, str], Any]] = []
        self.hook_status = 200
        self.server = LocalServer(
            Starlette(
                routes=[
                    Route("/start.png", self._static(PNG, "image/png")),
                    Route("/end.jpg", self._static(JPEG, "image/jpeg")),
                    Route("/page", self._static(b"<html></html>", "text/html")),
                    Route("/hook", self._hook, methods=["POST"]),
                ]
            )
        )
        self.url = ""

    @staticmethod
    def _static(data: bytes, media_type: str):
        async def endpoint(request: Request) -> Response:
            return Response(data, media_type=media_type)

        return endpoint

    async def _hook(self, request: Request) -> Response:
        self.hooks.append((dict(request.headers), await request.json()))
        return PlainTextResponse("ok", status_code=self.hook_status)


@pytest.fixture
async def fake():
    async with FakeApiframe(KEY, forbidden=[BOT_TOKEN]) as server:
        yield server


@pytest.fixture
async def client(fake):
    async with http_client(base_url=fake.url, headers={"Authorization": KEY}) as http:
        yield http


# One server for the many stateless parametrised cases: stopping a server costs ~0.2 s.
shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_fake():
    async with FakeApiframe(KEY, forbidden=[BOT_TOKEN]) as server:
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_client(shared_fake):
    async with http_client(base_url=shared_fake.url, headers={"Authorization": KEY}) as http:
        yield http


@pytest.fixture
async def neighbour():
    site = Neighbour()
    site.url = await site.server.start()
    yield site
    await site.server.stop()


async def create(client, **fields) -> str:
    response = await client.post("/kling-imagine", json={**T2V, **fields})
    assert response.status_code == 200, response.text
    return str(response.json()["task_id"])


async def create_on(client, neighbour, **paths: str) -> str:
    """An image2video task whose URL fields (`image_url`, `webhook_url`, ...) are these paths
    on the neighbour site."""
    urls = {name: neighbour.url + path for name, path in paths.items()}
    return await create(client, generation_type="image2video", **urls)


async def fetch(client, task_id: str) -> dict[str, Any]:
    response = await client.post("/fetch", json={"task_id": task_id})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# auth and recording


async def test_raw_key_is_accepted_and_account_returned(fake, client):
    response = await client.get("/account")
    assert response.status_code == 200
    assert response.json() == fake.account
    assert set(fake.account) == {"email", "credits", "total_images", "plan"}


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {}, {"Authorization": ""}])
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/kling-imagine"), ("POST", "/fetch"), ("POST", "/fetch-many"), ("GET", "/account")],
)
@shared_loop
async def test_every_endpoint_rejects_bearer_and_missing_key_with_empty_object(
    shared_fake, headers, method, path
):
    before = len(shared_fake.tasks)
    async with http_client(base_url=shared_fake.url, headers=headers) as http:
        response = await http.request(method, path, json=T2V if method == "POST" else None)
    assert response.status_code == 401
    assert response.json() == {}
    assert shared_fake.requests[-1].path == path
    assert len(shared_fake.tasks) == before


async def test_every_request_is_recorded_with_raw_body_and_parsed_json(fake, client):
    await client.post("/kling-imagine", json={**T2V, "duration": "5"})
    await client.post("/fetch", content=b"not json", headers={"Content-Type": "application/json"})
    first, second = fake.requests
    assert (first.method, first.path, first.json["duration"]) == ("POST", "/kling-imagine", "5")
    assert first.headers["authorization"] == KEY
    assert first.body.startswith(b"{")
    assert (second.body, second.json) == (b"not json", None)
    assert first.at <= second.at


async def test_unknown_path_and_get_fetch_answer_like_express(client):
    for method, path in [("GET", "/fetch"), ("GET", "/nope")]:
        response = await client.request(method, path)
        assert response.status_code == 404
        assert response.text == f"Cannot {method} {path}"
        assert response.headers["content-type"].startswith("text/html")


# validation


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": None}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"generation_type": None}, "generation_type"),
        ({"generation_type": "video2video"}, "generation_type"),
        ({"generation_type": "image2video"}, "image_url is required"),
        ({"generation_type": "image2video", "image_url": "data:image/png;base64,iVBO"}, "http"),
        ({"generation_type": "image2video", "image_url": "iVBORw0KGgoAAAANSUhEUg=="}, "http"),
        ({"generation_type": "image2video", "image_url": "ftp://x.test/a.png"}, "http"),
        (
            {
                "generation_type": "image2video",
                "image_url": "https://x.test/a.png",
                "end_image_url": 3,
            },
            "end_image_url",
        ),
        ({"image_url": "https://x.test/a.png"}, "image_url is only for image2video"),
        ({"end_image_url": "https://x.test/a.png"}, "end_image_url is only for image2video"),
        ({"mode": "turbo"}, "mode"),
        ({"mode": "pro"}, "kling-v1-5"),
        ({"mode": "pro", "model": "kling-v1-6"}, "kling-v1-5"),
        ({"model": "kling-v2-master"}, "model"),
        ({"aspect_ratio": "2:1"}, "aspect_ratio"),
        (
            {
                "generation_type": "image2video",
                "image_url": "https://x.test/a.png",
                "aspect_ratio": "1:1",
            },
            "aspect_ratio is only for text2video",
        ),
        ({"duration": "5"}, "duration"),
        ({"duration": 7}, "duration"),
        ({"duration": 5.0}, "duration"),
        ({"duration": True}, "duration"),
        ({"cfg_scale": 1.5}, "cfg_scale"),
        ({"cfg_scale": -0.1}, "cfg_scale"),
        ({"cfg_scale": "0.5"}, "cfg_scale"),
        ({"webhook_url": "not a url"}, "webhook_url"),
        ({"webhook_secret": 123}, "webhook_secret"),
        ({"negative_prompt": ["blur"]}, "negative_prompt"),
    ],
)
@shared_loop
async def test_invalid_create_is_400_with_errors_list(shared_fake, shared_client, fields, message):
    before = len(shared_fake.tasks)
    body = {k: v for k, v in {**T2V, **fields}.items() if v is not None}
    response = await shared_client.post("/kling-imagine", json=body)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert any(message in e["msg"] for e in errors), errors
    assert all(set(e) == {"msg"} for e in errors)
    assert len(shared_fake.tasks) == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{nope", "application/json"), (b"[1, 2]", "application/json"), (b'{"a": 1}', "text/plain")],
)
@shared_loop
async def test_body_that_is_not_a_json_object_is_400(shared_client, content, content_type):
    response = await shared_client.post(
        "/kling-imagine", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 400
    assert response.json()["errors"]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"mode": "pro", "model": "kling-v1-5", "duration": 10, "cfg_scale": 1},
        {"mode": "std", "model": "kling-v1", "aspect_ratio": "21:9", "cfg_scale": 0},
        {"model": "kling-v1-6", "negative_prompt": "blur", "cfg_scale": 0.5, "duration": 5},
        {"webhook_url": "https://bot.test/hook", "webhook_secret": "s3", "surprise": {"x": 1}},
    ],
)
@shared_loop
async def test_valid_text2video_options_are_accepted(shared_fake, shared_client, fields):
    task_id = await create(shared_client, **fields)
    assert uuid.UUID(task_id).version == 4
    assert shared_fake.tasks[task_id].request == {**T2V, **fields}


# creation


async def test_text2video_task_starts_pending(fake, client):
    task_id = await create(client, webhook_url="https://bot.test/h", webhook_secret="s")
    task = await fake.wait_for_task()
    assert task.task_id == task_id
    assert (task.generation_type, task.status, task.fetched_image) == (
        "text2video",
        "pending",
        None,
    )
    assert (task.webhook_url, task.webhook_secret) == ("https://bot.test/h", "s")
    assert await fetch(client, task_id) == {
        "task_id": task_id,
        "task_type": "kling-video",
        "status": "pending",
        "percentage": "0",
    }


async def test_image2video_downloads_both_frames(fake, client, neighbour):
    task_id = await create_on(client, neighbour, image_url="/start.png", end_image_url="/end.jpg")
    task = fake.tasks[task_id]
    assert task.status == "pending"
    assert (task.fetched_image, task.fetched_image_type) == (PNG, "image/png")
    assert (task.fetched_end_image, task.fetched_end_image_type) == (JPEG, "image/jpeg")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("/missing.png", None, "Could not download image"),
        ("/page", None, "Could not download image"),
        (UNREACHABLE, None, "Could not download image"),
        ("/start.png", "/page", "Could not download end image"),
    ],
)
async def test_image_that_cannot_be_downloaded_fails_the_task_not_the_call(
    fake, client, neighbour, start, end, message
):
    def url(path: str) -> str:
        return path if path.startswith("http") else neighbour.url + path

    fields = {"generation_type": "image2video", "image_url": url(start)}
    if end is not None:
        fields["end_image_url"] = url(end)
    task_id = await create(client, **fields)
    assert (await fetch(client, task_id))["message"] == message
    assert fake.tasks[task_id].status == "failed"


async def test_failed_download_is_also_posted_to_the_webhook(fake, client, neighbour):
    task_id = await create_on(client, neighbour, image_url="/missing.png", webhook_url="/hook")
    delivery = await fake.wait_for_webhook(lambda d: d.task_id == task_id)
    assert delivery.payload["status"] == "failed"
    assert neighbour.hooks[0][1] == delivery.payload


# fetch


async def test_fetch_reports_each_state_with_documented_percentage_types(fake, client):
    task_id = await create(client)
    await fake.set_processing(task_id, 40)
    running = await fetch(client, task_id)
    assert running == {
        "task_id": task_id,
        "task_type": "kling-video",
        "status": "processing",
        "percentage": "40",
    }
    video_url = await fake.finish(task_id)
    done = await fetch(client, task_id)
    assert done == {
        "task_id": task_id,
        "task_type": "kling-video",
        "status": "finished",
        "percentage": 100,
        "video_url": video_url,
    }
    assert isinstance(done["percentage"], int)

    other = await create(client)
    await fake.fail(other, "Content policy")
    assert await fetch(client, other) == {
        "task_id": other,
        "task_type": "kling-video",
        "status": "failed",
        "message": "Content policy",
    }


async def test_waiting_states_other_than_pending(fake, client):
    task_id = await create(client)
    await fake.set_queued(task_id, "retrying")
    assert (await fetch(client, task_id))["status"] == "retrying"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"task_id": "4c7a8b44-0000-4000-8000-000000000000"}, "Invalid task_id"),
        ({}, "task_id is required"),
        ({"task_id": 7}, "task_id is required"),
    ],
)
@shared_loop
async def test_fetch_with_unknown_or_missing_id_is_400(shared_client, body, message):
    response = await shared_client.post("/fetch", json=body)
    assert response.status_code == 400
    assert response.json() == {"errors": [{"msg": message}]}


async def test_fetch_many_keeps_request_order_and_omits_unknown_ids(fake, client):
    first, second = await create(client), await create(client)
    await fake.set_processing(second, 10)
    response = await client.post("/fetch-many", json={"task_ids": [second, "nope", first]})
    assert response.status_code == 200
    assert [t["task_id"] for t in response.json()["tasks"]] == [second, first]
    assert response.json()["tasks"][0]["percentage"] == "10"


@pytest.mark.parametrize("count", [0, 1, 21])
@shared_loop
async def test_fetch_many_needs_2_to_20_ids(shared_client, count):
    response = await shared_client.post("/fetch-many", json={"task_ids": ["x"] * count})
    assert response.status_code == 400
    assert "task_ids" in response.json()["errors"][0]["msg"]


async def test_fetch_many_accepts_exactly_20_and_rejects_a_bare_string(client):
    ok = await client.post("/fetch-many", json={"task_ids": [f"id{i}" for i in range(20)]})
    assert ok.json() == {"tasks": []}
    bad = await client.post("/fetch-many", json={"task_ids": "id1,id2"})
    assert bad.status_code == 400


# webhooks


async def test_webhook_gets_progress_and_result_with_secret_header(fake, client, neighbour):
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook", webhook_secret="abc123")
    await fake.set_processing(task_id, 40)
    video_url = await fake.finish(task_id)
    assert [body for _, body in neighbour.hooks] == [
        {
            "task_id": task_id,
            "task_type": "kling-video",
            "status": "processing",
            "percentage": "40",
        },
        {
            "task_id": task_id,
            "task_type": "kling-video",
            "status": "finished",
            "percentage": 100,
            "video_url": video_url,
        },
    ]
    assert all(headers["x-webhook-secret"] == "abc123" for headers, _ in neighbour.hooks)
    assert [d.status for d in fake.webhook_deliveries] == [200, 200]


async def test_webhook_without_secret_sends_no_secret_header(fake, client, neighbour):
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook")
    await fake.fail(task_id)
    headers, body = neighbour.hooks[0]
    assert "x-webhook-secret" not in headers
    assert body["message"] == "Video generation failed"


async def test_lost_callbacks(fake, client, neighbour):
    fake.deliver_webhooks = False
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook", webhook_secret="s")
    await fake.finish(task_id)
    assert neighbour.hooks == []
    assert fake.webhook_deliveries == []
    assert (await fetch(client, task_id))["status"] == "finished"


async def test_failed_webhook_attempts_are_recorded(fake, client, neighbour):
    neighbour.hook_status = 503
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook")
    await fake.set_processing(task_id, 5)
    other = await create(client, webhook_url=UNREACHABLE)
    await fake.set_processing(other, 5)
    refused, down = fake.webhook_deliveries
    assert (refused.status, refused.error) == (503, None)
    assert down.status is None and down.error


# fault injection


async def test_fail_next_500_then_recovers(fake, client):
    fake.fail_next("/kling-imagine", status=500, times=2)
    for _ in range(2):
        response = await client.post("/kling-imagine", json=T2V)
        assert (response.status_code, response.json()) == (500, {})
    await create(client)
    assert len(fake.tasks) == 1


async def test_fail_next_accepted_makes_the_task_and_loses_the_answer(fake, client):
    fake.fail_next("/kling-imagine", status=500, accepted=True)
    fake.fail_next("/kling-imagine", status=503)  # an ordinary fault behind it waits its turn
    lost = await client.post("/kling-imagine", json=T2V)
    assert (lost.status_code, lost.json()) == (500, {})
    assert len(fake.tasks) == 1
    refused = await client.post("/kling-imagine", json=T2V)
    assert refused.status_code == 503 and len(fake.tasks) == 1
    await create(client)
    assert len(fake.tasks) == 2


async def test_fail_next_bodies(fake, client):
    task_id = await create(client)
    fake.fail_next("/fetch", status=400)
    fake.fail_next("/fetch", status=429, body={"errors": [{"msg": "slow down"}]})
    fake.fail_next("/fetch", status=502, body="<html>Bad gateway</html>")
    first = await client.post("/fetch", json={"task_id": task_id})
    assert (first.status_code, first.json()) == (400, {"errors": [{"msg": "Invalid request"}]})
    second = await client.post("/fetch", json={"task_id": task_id})
    assert (second.status_code, second.json()["errors"][0]["msg"]) == (429, "slow down")
    third = await client.post("/fetch", json={"task_id": task_id})
    assert (third.status_code, third.text) == (502, "<html>Bad gateway</html>")
    assert third.headers["content-type"].startswith("text/html")
    assert (await fetch(client, task_id))["status"] == "pending"


async def test_stalled_path_answers_only_after_release(fake, client):
    send = client.post("/kling-imagine", json=T2V)
    assert (await answer_after_stall(fake, "/kling-imagine", send)).status_code == 200
    assert len(fake.tasks) == 1


async def test_unauthorised_requests_do_not_use_up_a_fault(fake, client):
    fake.fail_next("/account", status=500)
    async with http_client(base_url=fake.url) as anonymous:
        assert (await anonymous.get("/account")).status_code == 401
    assert (await client.get("/account")).status_code == 500
    assert (await client.get("/account")).status_code == 200


# forbidden content


async def test_bot_token_in_body_is_refused_and_recorded_as_leak(fake, client):
    response = await client.post(
        "/kling-imagine",
        json={**T2V, "generation_type": "image2video", "image_url": TG_FILE_URL},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"msg": "forbidden content"}]}
    assert fake.leaks == [fake.requests[-1]]
    assert fake.tasks == {}


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"url": f"/fetch?token={BOT_TOKEN}"},
        {"url": "/fetch", "headers": {"X-Debug": f"bot{BOT_TOKEN}"}},
        {
            "url": "/fetch",
            "content": '{"task_id": "\\u0031\\u0032\\u0033456:AAE-secret-bot-token"}',
        },
    ],
)
async def test_token_in_url_header_or_escaped_json_is_a_leak(fake, client, request_kwargs):
    headers = {"Content-Type": "application/json", **request_kwargs.pop("headers", {})}
    response = await client.request("POST", headers=headers, **request_kwargs)
    assert response.status_code == 400
    assert len(fake.leaks) == 1


# result videos


async def test_finished_video_is_served_with_get_and_head(fake, client):
    task_id = await create(client)
    video_url = await fake.finish(task_id)
    assert video_url == f"{fake.url}/videos/{task_id}.mp4"
    async with http_client() as http:  # a CDN needs no API key
        got = await http.get(video_url)
        head = await http.head(video_url)
    assert (got.status_code, got.content) == (200, SAMPLE)
    assert got.content[4:8] == b"ftyp"
    for response in (got, head):
        assert response.headers["content-type"] == "video/mp4"
        assert response.headers["content-length"] == str(len(SAMPLE))
    assert head.content == b""
    assert (await fake.wait_for(f"/videos/{task_id}.mp4", lambda r: r.method == "HEAD")).at > 0


async def test_video_fault_modes(fake, client):
    first, second = await create(client), await create(client)
    first_url = await fake.finish(first, b"own bytes")
    second_url = await fake.finish(second)
    async with http_client() as http:
        assert (await http.get(first_url)).content == b"own bytes"
        fake.media.set_mode("missing", f"{first}.mp4")
        assert (await http.get(first_url)).status_code == 404
        assert (await http.get(second_url)).status_code == 200
        fake.media.set_mode("html")
        page = await http.get(second_url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        fake.media.set_mode("serve")
        assert (await http.get(second_url)).content == SAMPLE
        assert (await http.get(f"{fake.url}/videos/unknown.mp4")).status_code == 404


async def test_finish_with_external_url_hosts_nothing(fake, client):
    task_id = await create(client)
    url = await fake.finish(task_id, video_url="https://cdn.test/v.mp4")
    assert url == "https://cdn.test/v.mp4"
    assert fake.media.blobs == {}
    assert (await fetch(client, task_id))["video_url"] == url


async def test_media_host_works_on_its_own():
    media = MediaHost()
    path = media.add("clip.mp4", SAMPLE_MP4)
    server = LocalServer(Starlette(routes=media.routes()))
    root = await server.start()
    try:
        async with http_client(base_url=root) as http:
            assert (await http.get(path)).content == SAMPLE_MP4
            assert (await http.head(path)).headers["content-length"] == str(len(SAMPLE_MP4))
            media.set_mode("missing")
            assert (await http.head(path)).status_code == 404
    finally:
        await server.stop()


# benchmark mode and waiting helpers


async def test_auto_finish_after_fetches(fake, client):
    fake.auto_finish_after_fetches = 3
    task_id = await create(client)
    percentages = [(await fetch(client, task_id))["percentage"] for _ in range(4)]
    assert percentages == ["25", "50", "75", 100]
    result = await fetch(client, task_id)
    async with http_client() as http:
        assert (await http.get(result["video_url"])).content == SAMPLE


async def test_auto_finish_posts_each_change_to_the_webhook(fake, client, neighbour):
    fake.auto_finish_after_fetches = 1
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook")
    await fetch(client, task_id)
    await fetch(client, task_id)
    done = await fake.wait_for_webhook(lambda d: d.payload["status"] == "finished")
    running = await fake.wait_for_webhook(lambda d: d.payload["status"] == "processing")
    # Deferred deliveries may overlap, so compare what was sent, not the arrival order.
    assert (running.payload["percentage"], done.payload["percentage"]) == ("50", 100)
    assert sorted(str(body) for _, body in neighbour.hooks) == sorted(
        str(d.payload) for d in (running, done)
    )


async def test_auto_finish_leaves_failed_tasks_alone(fake, client):
    fake.auto_finish_after_fetches = 0
    done, failed = await create(client), await create(client)
    await fake.fail(failed)
    response = await client.post("/fetch-many", json={"task_ids": [done, failed]})
    assert [t["status"] for t in response.json()["tasks"]] == ["finished", "failed"]


async def test_wait_for_sees_past_and_future_requests(fake, client):
    waiter = asyncio.create_task(fake.wait_for("/fetch", lambda r: r.json == {"task_id": "b"}))
    await client.post("/fetch", json={"task_id": "a"})
    await client.post("/fetch", json={"task_id": "b"})
    assert (await waiter).json == {"task_id": "b"}
    assert (await fake.wait_for("/fetch")).json == {"task_id": "a"}
    with pytest.raises(AssertionError, match="timed out"):
        await fake.wait_for("/account", timeout=0.05)


async def test_wait_for_task_hands_out_each_task_once_in_order(fake, client):
    waiter = asyncio.create_task(fake.wait_for_task())
    first, second = await create(client), await create(client)
    assert (await waiter).task_id == first
    assert (await fake.wait_for_task()).task_id == second
    with pytest.raises(AssertionError, match="timed out"):
        await fake.wait_for_task(timeout=0.05)


async def test_webhook_receiver_sees_json_content_type(fake, client, neighbour):
    task_id = await create(client, webhook_url=f"{neighbour.url}/hook")
    await fake.set_processing(task_id, 1)
    assert neighbour.hooks[0][0]["content-type"] == "application/json"


def test_sample_starts_with_an_ftyp_box():
    assert SAMPLE[:12] == b"\x00\x00\x00\x18ftypmp42"
