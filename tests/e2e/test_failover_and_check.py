"""Failover between providers through the whole bot, and `kling-bot check`."""

from __future__ import annotations

from bot.cli import check
from bot.jobs import JobState
from tests.e2e.conftest import APIFRAME_KEY, ask_for_video
from tests.stores import postgres_schema


async def test_out_of_credits_moves_job_to_next_provider(
    telegram, apiframe, apiframe_settings, start_bot
):
    bot = await start_bot(apiframe_settings(video_providers="apiframe,sandbox"))
    apiframe.fail_next(
        "/kling-imagine", status=400, body={"errors": [{"msg": "Insufficient credits"}]}
    )
    request = telegram.send_text(telegram.user(1001), "/video a ferry at dawn")
    moved = await telegram.wait_for(
        "editMessageText", lambda c: "trying sandbox" in c.params["text"]
    )
    assert "apiframe is unavailable" in moved.params["text"]
    video = await telegram.wait_for("sendVideo")
    assert video.params["reply_parameters"]["message_id"] == request["message_id"]
    await telegram.wait_for("editMessageText", lambda c: "Done" in c.params["text"])
    job = await bot.job(1)
    assert job.state is JobState.DELIVERED and job.provider == "sandbox"
    assert len([r for r in apiframe.requests if r.path == "/kling-imagine"]) == 1
    assert len(telegram.calls_to("sendVideo")) == 1


async def test_outage_is_retried_with_backoff_before_failover(
    telegram, apiframe, apiframe_settings, start_bot
):
    await start_bot(apiframe_settings(submit_backoff=0.01, submit_attempts=3))
    apiframe.fail_next("/kling-imagine", status=503, times=2)
    task = await ask_for_video(telegram, apiframe, "/video patience")
    creates = [r for r in apiframe.requests if r.path == "/kling-imagine"]
    assert len(creates) == 3  # two outages, then accepted
    await apiframe.finish(task.task_id)
    await telegram.wait_for("sendVideo")


async def test_ambiguous_500_is_not_sent_again(telegram, apiframe, apiframe_settings, start_bot):
    await start_bot(apiframe_settings(video_providers="apiframe,sandbox", submit_backoff=0.01))
    apiframe.fail_next("/kling-imagine", status=500)
    telegram.send_text(telegram.user(1001), "/video maybe paid")
    notice = await telegram.wait_for("sendMessage", lambda c: "failed" in c.params["text"])
    assert "did not answer in time" in notice.params["text"]
    assert len([r for r in apiframe.requests if r.path == "/kling-imagine"]) == 1
    assert telegram.calls_to("sendVideo") == []


async def test_check_reports_each_provider(apiframe, apiframe_settings, capsys):
    ok = await check(apiframe_settings(video_providers="apiframe,sandbox"))
    lines = capsys.readouterr().out.splitlines()
    assert ok == 0
    assert lines[0].split() == ["provider", "reachable", "auth", "ok", "balance", "checked"]
    assert lines[1].split()[:5] == ["apiframe", "yes", "yes", "1000", "credits"]
    assert lines[1].endswith("GET /account")
    assert lines[2].split()[:4] == ["sandbox", "yes", "yes", "free"]
    request = await apiframe.wait_for("/account")
    assert request.headers["authorization"] == APIFRAME_KEY


async def test_check_fails_on_a_bad_key(apiframe, apiframe_settings, capsys):
    assert await check(apiframe_settings(apiframe_api_key="not-the-key")) == 1
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[:3] == ["apiframe", "yes", "NO"]


async def test_check_reports_the_database(make_settings, capsys):
    """A PostgreSQL host that does not resolve (a password pasted unescaped into the URL makes
    one: `postgresql://bot:p@ss@db/bot` names host `ss@db`) fails `check` with its reason."""
    broken = make_settings(database_url="postgresql://bot@no-such-host.invalid:5432/bot")
    assert await check(broken) == 1
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.split()[:3] == ["database", "NO", "?"]
    assert "no-such-host.invalid:5432/bot not reachable" in row
    async with postgres_schema() as (url, schema):
        separator = "&" if "?" in url else "?"
        working = make_settings(database_url=f"{url}{separator}search_path={schema}")
        assert await check(working) == 0
        assert capsys.readouterr().out.splitlines()[-1].split()[:3] == ["database", "yes", "yes"]
