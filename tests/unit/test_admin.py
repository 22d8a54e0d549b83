"""Operator commands on both store backends."""

from bot.access import AccessPolicy, Gatekeeper
from bot.admin import Admin
from bot.i18n import Reason
from bot.jobs import JobKind, JobState, NewJob, Requester


async def test_stats_ban_and_unban(store):
    admin = Admin(store, Gatekeeper(store, AccessPolicy(admin_user_ids=frozenset({9}))))
    assert admin.allowed(9) and not admin.allowed(1)
    assert await admin.stats() == "No jobs in the last 7 days."
    for provider in ("sandbox", "sandbox", "apiframe"):
        job = await store.create_job(NewJob(Requester(1, 1, 1), JobKind.TEXT, "x", provider))
    await store.transition(job.id, JobState.FAILED, error=Reason.of("unavailable"))
    stats = (await admin.stats()).splitlines()
    assert stats[0] == "Jobs, last 7 days (UTC):"
    assert stats[1].endswith(": 3 (failed 1, queued 2)")
    assert stats[2:] == ["By provider:", "apiframe: 1 (failed 1)", "sandbox: 2 (queued 2)"]

    assert await admin.ban(9, "abc") == "Use /ban <numeric user id>."
    assert await admin.ban(9, "9") == "Admins cannot be banned."
    assert await admin.ban(9, " 42 ") == "User 42 is banned: the bot ignores them now."
    assert await store.is_banned(42)
    assert await admin.unban("42") == "User 42 may use the bot again."
    assert await admin.unban("42") == "User 42 was not banned."
