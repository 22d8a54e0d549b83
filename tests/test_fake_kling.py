"""The Kling (and makevid) fake behaves as the docs say, so provider tests against it mean
something."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.fakes.kling import SAMPLE, FakeKling
from tests.fakes.provider import answer_after_stall
from tests.fakes.recording import shared_tls
from tests.fakes.server import LocalServer

AK, SK = "kling-ak-test", "kling-sk-test"
BOT_TOKEN = "123456:AAE-secret-bot-token"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0" + bytes(64)
PNG64 = base64.b64encode(PNG).decode()
JPEG64 = base64.b64encode(JPEG).decode()
T2V = {"prompt": "a cat surfing"}
I2V = {"prompt": "camera pull out", "image": PNG64}
UNREACHABLE = "http://127.0.0.1:1/nothing"

# The test secret is shorter than a real one (32 characters); PyJWT says so on every token.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def http_client(**kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(verify=shared_tls(), **kwargs)


class Receiver:
    """The bot's side of a callback: records what arrives."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []
        self.status = 200
        self.server = LocalServer(Starlette(routes=[Route("/hook", self._hook, methods=["POST"])]))
        self.url = ""

    async def _hook(self, request: Request) -> Response:
        self.bodies.append(await request.json())
        return PlainTextResponse("ok", status_code=self.status)


@pytest.fixture
async def fake():
    async with FakeKling(forbidden=[BOT_TOKEN]) as server:
        yield server


@pytest.fixture
async def client(fake):
    async with http_client(base_url=fake.url, headers=fake.auth_header()) as http:
        yield http


@pytest.fixture
async def makevid():
    async with FakeKling("mv-key", flavour="makevid") as server:
        yield server


@pytest.fixture
async def mv_client(makevid):
    async with http_client(base_url=makevid.url, headers=makevid.auth_header()) as http:
        yield http


# One server per flavour for the many stateless parametrised cases: stopping one costs ~0.2 s.
shared_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_fakes():
    servers = {"kling": FakeKling(), "makevid": FakeKling("mv-key", flavour="makevid")}
    for server in servers.values():
        await server.start()
    yield servers
    for server in servers.values():
        await server.stop()


@pytest.fixture
async def receiver():
    site = Receiver()
    site.url = await site.server.start() + "/hook"
    yield site
    await site.server.stop()


async def create(client, kind: str = "text2video", **fields) -> dict[str, Any]:
    body = {**(T2V if kind == "text2video" else I2V), **fields}
    response = await client.post(f"/v1/videos/{kind}", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def query(client, task_id: str, kind: str = "text2video") -> dict[str, Any]:
    response = await client.get(f"/v1/videos/{kind}/{task_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert set(body) == {"code", "message", "request_id"}
    return body


# auth


async def test_valid_jwt_creates_a_task_in_the_envelope(fake, client):
    answer = await create(client, external_task_id="job-1")
    assert set(answer) == {"code", "message", "request_id", "data"}
    assert (answer["code"], answer["message"]) == (0, "SUCCEED")
    data = answer["data"]
    assert data["task_status"] == "submitted"
    assert data["task_info"] == {"external_task_id": "job-1"}
    assert isinstance(data["created_at"], int) and data["created_at"] > 10**12  # milliseconds
    assert set(fake.tasks) == {data["task_id"]}
    assert fake.requests[-1].headers["authorization"].startswith("Bearer ey")


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, 1001),
        ("", 1001),
        ("Bearer", 1001),
        ("Bearer not-a-jwt", 1002),
        ("Token {good}", 1001),
        ("Bearer {wrong_secret}", 1002),
        ("Bearer {wrong_iss}", 1000),
        ("Bearer {expired}", 1004),
        ("Bearer {not_yet}", 1003),
        ("Bearer {no_exp}", 1002),
        ("Bearer {hs512}", 1002),
        ("{good}", 1001),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/videos/text2video"),
        ("GET", "/v1/videos/image2video/x"),
        ("GET", "/account/costs"),
    ],
)
@shared_loop
async def test_every_kling_endpoint_checks_the_jwt(shared_fakes, header, code, method, path):
    fake = shared_fakes["kling"]
    now = int(fake.clock())
    tokens = {
        "good": fake.token(),
        "wrong_secret": jwt.encode({"iss": AK, "exp": now + 60, "nbf": now - 5}, "nope"),
        "wrong_iss": fake.token(iss="someone-else"),
        "expired": fake.token(exp=now - 1),
        "not_yet": fake.token(nbf=now + 60),
        "no_exp": jwt.encode({"iss": AK, "nbf": now - 5}, SK),
        "hs512": jwt.encode({"iss": AK, "exp": now + 60, "nbf": now - 5}, SK, algorithm="HS512"),
    }
    headers = {} if header is None else {"Authorization": header.format(**tokens)}
    before = len(fake.tasks)
    async with http_client(base_url=fake.url, headers=headers) as http:
        response = await http.request(method, path, json=T2V if method == "POST" else None)
    assert_error(response, 401, code)
    assert len(fake.tasks) == before


async def test_jwt_times_are_checked_against_the_fakes_clock(fake):
    token = fake.token()  # valid now: exp = now + 1800
    fake.clock = lambda: 4_000_000_000.0
    async with http_client(base_url=fake.url, headers={"Authorization": f"Bearer {token}"}) as h:
        assert_error(await h.post("/v1/videos/text2video", json=T2V), 401, 1004)
        headers = fake.auth_header()  # minted on the fake's clock: valid again
        assert (await h.post("/v1/videos/text2video", json=T2V, headers=headers)).is_success


@pytest.mark.parametrize("header", [None, "mv-key", "Bearer wrong", "Bearer {jwt}"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/kling/text2video/create_kling"),
        ("GET", "/api/v1/kling/image2video/get_kling/x"),
    ],
)
@shared_loop
async def test_makevid_wants_its_key_as_bearer(shared_fakes, header, method, path):
    fake = shared_fakes["makevid"]
    headers = {} if header is None else {"Authorization": header.format(jwt=fake.token())}
    async with http_client(base_url=fake.url, headers=headers) as http:
        response = await http.request(method, path, json=T2V if method == "POST" else None)
    assert response.status_code == 401
    assert response.json() == {"message": "Invalid API key"}


async def test_makevid_creates_and_polls_on_its_own_paths(makevid, mv_client):
    response = await mv_client.post("/api/v1/kling/image2video/create_kling", json=I2V)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {"task_id", "task_status", "created_at", "updated_at"}
    polled = await mv_client.get(f"/api/v1/kling/image2video/get_kling/{data['task_id']}")
    assert polled.json()["data"]["task_status"] == "submitted"
    wrong_kind = await mv_client.get(f"/api/v1/kling/text2video/get_kling/{data['task_id']}")
    assert_error(wrong_kind, 404, 1203)
    for path in ("/v1/videos/image2video", "/account/costs"):  # Kling's own paths do not exist
        response = await mv_client.request("POST" if "videos" in path else "GET", path, json=I2V)
        assert (response.status_code, response.text) == (404, "404 page not found")


async def test_makevid_poll_path_is_a_template():
    fake = FakeKling("mv-key", flavour="makevid", poll_path="/api/v1/get_kling/{task_id}")
    await fake.start()
    try:
        async with http_client(base_url=fake.url, headers=fake.auth_header()) as http:
            created = await http.post("/api/v1/kling/text2video/create_kling", json=T2V)
            task_id = created.json()["data"]["task_id"]
            polled = await http.get(f"/api/v1/get_kling/{task_id}")
            assert polled.json()["data"]["task_id"] == task_id
            default = await http.get(f"/api/v1/kling/text2video/get_kling/{task_id}")
            assert (default.status_code, default.text) == (404, "404 page not found")
    finally:
        await fake.stop()


# validation


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("text2video", {"prompt": None}, "prompt is required"),
        ("text2video", {"prompt": "  "}, "prompt is required"),
        ("text2video", {"prompt": "x" * 2501}, "prompt must be"),
        ("image2video", {"prompt": "x" * 2501}, "prompt must be"),
        ("text2video", {"negative_prompt": "x" * 2501}, "at most 2500"),
        ("text2video", {"negative_prompt": 3}, "negative_prompt"),
        ("text2video", {"duration": 5}, "duration"),
        ("text2video", {"duration": "7"}, "duration"),
        ("text2video", {"mode": "turbo"}, "mode"),
        ("text2video", {"cfg_scale": 1.5}, "cfg_scale"),
        ("text2video", {"cfg_scale": "0.5"}, "cfg_scale"),
        ("text2video", {"aspect_ratio": "4:3"}, "aspect_ratio"),
        ("image2video", {"aspect_ratio": "16:9"}, "aspect_ratio is only for text2video"),
        ("text2video", {"image": PNG64}, "image is only for image2video"),
        ("text2video", {"image_tail": PNG64}, "image_tail is only for image2video"),
        ("image2video", {"image": None}, "image is required"),
        ("image2video", {"image": f"data:image/png;base64,{PNG64}"}, "data: prefix"),
        ("image2video", {"image_tail": f"data:image/jpeg;base64,{JPEG64}"}, "data: prefix"),
        ("image2video", {"image": "not base64!"}, "URL or a base64"),
        ("image2video", {"image": base64.b64encode(b"GIF89a....").decode()}, "JPEG or PNG"),
        ("image2video", {"image": "ftp://x.test/a.png"}, "URL or a base64"),
        ("image2video", {"image": 7}, "image must be a string"),
        ("text2video", {"model_name": "kling-v9"}, "model_name"),
        ("text2video", {"callback_url": "not a url"}, "callback_url"),
        ("text2video", {"external_task_id": ""}, "external_task_id"),
    ],
)
@shared_loop
async def test_invalid_kling_create_is_400_with_code_1201(shared_fakes, kind, fields, message):
    fake = shared_fakes["kling"]
    before = len(fake.tasks)
    base = T2V if kind == "text2video" else I2V
    body = {k: v for k, v in {**base, **fields}.items() if v is not None}
    async with http_client(base_url=fake.url, headers=fake.auth_header()) as http:
        response = await http.post(f"/v1/videos/{kind}", json=body)
    assert message in assert_error(response, 400, 1201)["message"]
    assert len(fake.tasks) == before


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({"negative_prompt": "x" * 200}, True),
        ({"negative_prompt": "x" * 201}, False),
        ({"duration": 10}, False),
        ({"image": f"data:image/png;base64,{PNG64}"}, False),
        ({"model_name": "anything", "callback_url": 1, "external_task_id": 2}, True),  # unknown
    ],
)
@shared_loop
async def test_makevid_rules(shared_fakes, fields, ok):
    fake = shared_fakes["makevid"]
    async with http_client(base_url=fake.url, headers=fake.auth_header()) as http:
        response = await http.post("/api/v1/kling/image2video/create_kling", json={**I2V, **fields})
    if ok:
        assert response.json()["code"] == 0
    else:
        assert_error(response, 400, 1201)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{nope", "application/json"), (b"[1]", "application/json"), (b'{"a": 1}', "text/plain")],
)
@shared_loop
async def test_body_that_is_not_a_json_object_is_1200(shared_fakes, content, content_type):
    fake = shared_fakes["kling"]
    headers = {**fake.auth_header(), "Content-Type": content_type}
    async with http_client(base_url=fake.url, headers=headers) as http:
        assert_error(await http.post("/v1/videos/text2video", content=content), 400, 1200)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"model_name": "kling-v2-5-turbo", "mode": "pro", "duration": "10", "cfg_scale": 1},
        {"model_name": "kling-v1-6", "aspect_ratio": "9:16", "negative_prompt": "x" * 2500},
        {"callback_url": "https://bot.test/cb/s3cret", "external_task_id": "job-x", "extra": 1},
    ],
)
@shared_loop
async def test_valid_text2video_options_are_accepted(shared_fakes, fields):
    fake = shared_fakes["kling"]
    fields = {**fields, "external_task_id": f"job-{len(fake.tasks)}"}
    async with http_client(base_url=fake.url, headers=fake.auth_header()) as http:
        answer = await create(http, **fields)
    assert fake.tasks[answer["data"]["task_id"]].request == {**T2V, **fields}


async def test_image2video_decodes_both_frames_and_keeps_urls(fake, client):
    answer = await create(client, "image2video", image_tail=JPEG64)
    task = fake.tasks[answer["data"]["task_id"]]
    assert (task.kind, task.image_bytes, task.image_tail_bytes) == ("image2video", PNG, JPEG)
    by_url = await create(client, "image2video", image="https://img.test/a.png")
    task = fake.tasks[by_url["data"]["task_id"]]
    assert (task.image_bytes, task.request["image"]) == (None, "https://img.test/a.png")


async def test_duplicate_external_task_id_is_refused(fake, client):
    await create(client, external_task_id="job-7")
    response = await client.post(
        "/v1/videos/image2video", json={**I2V, "external_task_id": "job-7"}
    )
    assert "already exists" in assert_error(response, 400, 1201)["message"]
    assert len(fake.tasks) == 1
    await create(client, external_task_id="job-8")


async def test_no_credits_is_429_with_code_1102(fake, client):
    fake.no_credits = True
    assert_error(await client.post("/v1/videos/text2video", json=T2V), 429, 1102)
    assert fake.tasks == {}


# queries and task life


async def test_query_reports_every_state_in_the_official_shape(fake, client):
    task_id = (await create(client, external_task_id="job-1", duration="10"))["data"]["task_id"]
    submitted = await query(client, task_id)
    assert submitted["task_status"] == "submitted"
    assert submitted["task_info"] == {"external_task_id": "job-1"}
    assert "task_result" not in submitted and "task_status_msg" not in submitted
    await fake.set_processing(task_id)
    assert (await query(client, task_id))["task_status"] == "processing"
    video_url = await fake.finish(task_id)
    done = await query(client, task_id)
    assert done["task_status"] == "succeed"
    assert done["task_result"] == {
        "videos": [{"id": f"v-{task_id}", "url": video_url, "duration": "10"}]
    }
    assert done["updated_at"] >= done["created_at"]

    other = (await create(client))["data"]["task_id"]
    await fake.fail(other, "Failure to pass the risk control system")
    failed = await query(client, other)
    assert (failed["task_status"], failed["task_status_msg"]) == (
        "failed",
        "Failure to pass the risk control system",
    )
    assert fake.tasks[other].query_count == 1


async def test_query_needs_the_right_kind_and_a_known_id(client):
    task_id = (await create(client, "image2video"))["data"]["task_id"]
    assert (await query(client, task_id, "image2video"))["task_id"] == task_id
    assert_error(await client.get(f"/v1/videos/text2video/{task_id}"), 404, 1203)
    assert_error(await client.get("/v1/videos/image2video/nope"), 404, 1203)


async def test_query_by_external_task_id_finds_the_same_task(fake, client, makevid, mv_client):
    task_id = (await create(client, "image2video", external_task_id="job-5"))["data"]["task_id"]
    assert (await query(client, "job-5", "image2video"))["task_id"] == task_id
    assert_error(await client.get("/v1/videos/text2video/job-5"), 404, 1203)  # kind matters
    assert_error(await client.get("/v1/videos/image2video/job-6"), 404, 1203)
    created = await mv_client.post(
        "/api/v1/kling/text2video/create_kling", json={**T2V, "external_task_id": "job-5"}
    )
    assert created.json()["code"] == 0  # makevid documents no external id: none to query by
    assert (await mv_client.get("/api/v1/kling/text2video/get_kling/job-5")).status_code == 404


async def test_unknown_paths_and_kinds_are_a_plain_404(client):
    for method, path in [("GET", "/nope"), ("POST", "/v1/videos/video2video"), ("GET", "/v1/x")]:
        response = await client.request(method, path, json=T2V)
        assert (response.status_code, response.text) == (404, "404 page not found")


async def test_account_costs_lists_resource_packs(fake, client):
    response = await client.get("/account/costs", params={"start_time": 1, "end_time": 2})
    data = response.json()["data"]
    assert data == {
        "code": 0,
        "msg": "success",
        "resource_pack_subscribe_infos": fake.resource_packs,
    }
    assert assert_error(await client.get("/account/costs"), 400, 1201)


# callbacks


async def test_callback_gets_the_data_object_on_every_change(fake, client, receiver):
    data = (await create(client, callback_url=receiver.url, external_task_id="job-3"))["data"]
    task_id = data["task_id"]
    await fake.set_processing(task_id)
    await fake.finish(task_id)
    assert [body["task_status"] for body in receiver.bodies] == ["processing", "succeed"]
    assert receiver.bodies[-1] == await query(client, task_id)
    assert receiver.bodies[-1]["task_info"] == {"external_task_id": "job-3"}
    assert [d.status for d in fake.callback_deliveries] == [200, 200]


async def test_failed_and_switched_off_callbacks(fake, client, receiver):
    receiver.status = 500
    first = (await create(client, callback_url=receiver.url))["data"]["task_id"]
    await fake.fail(first, "boom")
    second = (await create(client, callback_url=UNREACHABLE))["data"]["task_id"]
    await fake.set_processing(second)
    refused, down = fake.callback_deliveries
    assert (refused.status, refused.error, refused.payload["task_status_msg"]) == (
        500,
        None,
        "boom",
    )
    assert down.status is None and down.error
    fake.deliver_callbacks = False
    await fake.finish(second)
    assert len(fake.callback_deliveries) == 2


async def test_makevid_sends_no_callbacks(makevid, mv_client, receiver):
    body = {**T2V, "callback_url": receiver.url}
    response = await mv_client.post("/api/v1/kling/text2video/create_kling", json=body)
    await makevid.finish(response.json()["data"]["task_id"])
    assert receiver.bodies == [] and makevid.callback_deliveries == []


async def test_wait_for_callback(fake, client, receiver):
    task_id = (await create(client, callback_url=receiver.url))["data"]["task_id"]
    waiter = asyncio.create_task(fake.wait_for_callback(lambda d: d.task_id == task_id))
    await fake.set_processing(task_id)
    assert (await waiter).payload["task_status"] == "processing"


# faults, stalls, leaks


async def test_fail_next_uses_kling_error_bodies(fake, client):
    fake.fail_next("/v1/videos/text2video", status=500)
    fake.fail_next("/v1/videos/text2video", status=429, body={"code": 1303, "message": "busy"})
    fake.fail_next("/v1/videos/text2video", status=502, body="<html>Bad gateway</html>")
    fake.fail_next("/v1/videos/text2video", status=200, body="not json")
    assert assert_error(await client.post("/v1/videos/text2video", json=T2V), 500, 5000)
    assert (await client.post("/v1/videos/text2video", json=T2V)).json()["code"] == 1303
    gateway = await client.post("/v1/videos/text2video", json=T2V)
    assert (gateway.status_code, gateway.text) == (502, "<html>Bad gateway</html>")
    garbled = await client.post("/v1/videos/text2video", json=T2V)
    assert (garbled.status_code, garbled.text) == (200, "not json")
    assert fake.tasks == {}
    await create(client)


async def test_fail_next_accepted_makes_the_task_and_loses_the_answer(fake, client):
    fake.fail_next("/v1/videos/text2video", status=500, accepted=True)
    lost = await client.post("/v1/videos/text2video", json={**T2V, "external_task_id": "job-1"})
    assert_error(lost, 500, 5000)
    (task,) = fake.tasks.values()
    assert task.external_task_id == "job-1"
    await create(client)  # the fault is used up
    assert len(fake.tasks) == 2


async def test_stall_holds_requests_until_released(fake, client):
    send = client.post("/v1/videos/text2video", json=T2V)
    assert (await answer_after_stall(fake, "/v1/videos/text2video", send)).json()["code"] == 0


async def test_bot_token_anywhere_is_a_leak(fake, client):
    url = f"https://api.telegram.org/file/bot{BOT_TOKEN}/photos/a.jpg"
    response = await client.post("/v1/videos/image2video", json={**I2V, "image": url})
    assert "forbidden" in assert_error(response, 400, 1201)["message"]
    assert fake.leaks == [fake.requests[-1]]
    assert fake.tasks == {}


async def test_finished_video_is_served_without_auth(fake, client):
    task_id = (await create(client))["data"]["task_id"]
    video_url = await fake.finish(task_id)
    async with http_client() as http:
        got = await http.get(video_url)
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, SAMPLE, "video/mp4")
    assert (
        await fake.finish(task_id, video_url="https://cdn.test/v.mp4") == "https://cdn.test/v.mp4"
    )


async def test_wait_for_task_hands_out_each_task_once(fake, client):
    waiter = asyncio.create_task(fake.wait_for_task())
    first = (await create(client))["data"]["task_id"]
    second = (await create(client))["data"]["task_id"]
    assert (await waiter).task_id == first
    assert (await fake.wait_for_task()).task_id == second
    with pytest.raises(AssertionError, match="timed out"):
        await fake.wait_for_task(timeout=0.05)
