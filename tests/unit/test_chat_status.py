"""What the chat sees of a job: replies, throttled status edits (newest wins), failure notices.
A real `telegram.Bot` answered offline (`tests.fakes.offline_request`), nothing patched."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.chat_status import ChatStatus
from bot.i18n import Reason
from bot.jobs import JobState, Requester
from bot.metrics import Metrics
from tests.fakes.background import WatchedBackground
from tests.fakes.offline_request import Sent, offline_bot
from tests.unit.test_submission import job

RUNNING = replace(job(), state=JobState.RUNNING, status_message_id=55, progress=10)


def chat_status(fail=None, interval: float = 3600.0):
    bot, request = offline_bot(fail)
    metrics, background = Metrics(), WatchedBackground()
    status = ChatStatus(bot, background, metrics, status_edit_interval=interval)
    return status, request, metrics, background


async def test_reply_answers_the_request_in_its_topic():
    status, request, *_ = chat_status()
    message_id = await status.reply(Requester(1, -100, 9, thread_id=4), "hello")
    [call] = request.calls("sendMessage")
    assert message_id == 101
    assert call.params["chat_id"] == -100 and call.params["message_thread_id"] == 4
    assert call.params["reply_parameters"]["message_id"] == 9


async def test_progress_edits_wait_for_the_interval_state_changes_do_not():
    status, request, _, background = chat_status()
    status.show(RUNNING, force=False)
    status.show(replace(RUNNING, progress=20), force=False)  # within the interval: skipped
    await background.idle()
    status.show(replace(RUNNING, state=JobState.DELIVERED, progress=100), force=True)
    await background.idle()
    edits = request.calls("editMessageText")
    assert len(edits) == 2
    assert edits[0].params["message_id"] == 55


async def test_progress_gives_way_while_the_chat_is_busy_final_states_and_notes_do_not():
    bot, request = offline_bot()
    background = WatchedBackground()
    busy_chats: set[int] = set()
    status = ChatStatus(
        bot, background, Metrics(), status_edit_interval=0, busy=busy_chats.__contains__
    )
    busy_chats.add(RUNNING.requester.chat_id)
    status.show(RUNNING, force=False)  # progress in a busy chat: left out
    status.show(replace(RUNNING, progress=None), force=True)  # "generating": left out too
    await background.idle()  # each on its own: a later status must not stand in for them
    assert request.calls("editMessageText") == []
    status.show(replace(RUNNING, state=JobState.QUEUED), force=True, note="moved to kling")
    await background.idle()
    status.show(replace(RUNNING, state=JobState.CANCELLED), force=True)
    await background.idle()
    texts = [call.params["text"] for call in request.calls("editMessageText")]
    assert len(texts) == 2
    assert "moved to kling" in texts[0] and "Cancelled" in texts[1]
    busy_chats.clear()  # quiet again: progress shows
    status.show(replace(RUNNING, progress=70), force=False)
    await background.idle()
    assert "70%" in request.calls("editMessageText")[-1].params["text"]


async def test_ready_to_send_is_never_an_edit_of_its_own_unless_told_not_to_give_way():
    for give_way, expected in ((True, 0), (False, 1)):
        bot, request = offline_bot()
        background = WatchedBackground()
        status = ChatStatus(bot, background, Metrics(), give_way=give_way)
        status.show(replace(RUNNING, state=JobState.SUCCEEDED, progress=100), force=True)
        await background.idle()
        assert len(request.calls("editMessageText")) == expected


async def test_a_job_without_a_status_message_is_not_edited():
    status, request, _, background = chat_status()
    status.show(replace(RUNNING, status_message_id=None), force=True)
    await background.idle()
    assert request.sent == []


async def test_the_newest_status_wins_while_an_edit_waits():
    release = asyncio.Event()

    async def hold_first_edit(call: Sent):
        if len(edits()) == 1:
            await release.wait()
        return None

    status, request, _, background = chat_status(hold_first_edit)

    def edits():
        return request.calls("editMessageText")

    status.show(replace(RUNNING, progress=10), force=True)
    await request.until(lambda: len(edits()) == 1, "the first edit in flight")
    for progress in (20, 30):
        status.show(replace(RUNNING, progress=progress), force=True)
    release.set()
    await background.idle()
    texts = [call.params["text"] for call in edits()]
    assert len(texts) == 2  # 20% was superseded by 30% while the first edit waited
    assert "10%" in texts[0] and "30%" in texts[1]


async def test_edit_errors_are_counted_and_never_raised():
    async def refuse(call: Sent):
        return 400, "Bad Request: message is not modified"

    status, request, metrics, background = chat_status(refuse)
    status.show(RUNNING, force=True)
    await background.idle()
    assert len(request.calls("editMessageText")) == 1
    counted = metrics.registry.get_sample_value(
        "kling_bot_telegram_errors_total", {"kind": "BadRequest"}
    )
    assert counted == 1


async def test_failure_notice_goes_in_the_background_and_a_blocked_chat_is_only_logged():
    async def blocked(call: Sent):
        return 403, "Forbidden: bot was blocked by the user"

    status, request, _, background = chat_status(blocked)
    failed = replace(RUNNING, state=JobState.FAILED, reason=Reason.of("no_answer"))
    status.notify_failure(failed)
    assert request.sent == []  # not sent before the caller moves on
    await background.idle()
    [notice] = request.calls("sendMessage")
    assert notice.params["chat_id"] == 1


async def test_a_delivered_jobs_status_message_is_deleted_in_a_busy_chat_edited_in_a_quiet_one():
    async def refuse_deletes(call: Sent):
        if call.method == "deleteMessage" and call.params["message_id"] == 57:
            return 400, "Bad Request: message can't be deleted"
        return None

    bot, request = offline_bot(refuse_deletes)
    background = WatchedBackground()
    busy = {"now": True}
    status = ChatStatus(bot, background, Metrics(), busy=lambda chat_id: busy["now"])
    delivered = replace(RUNNING, state=JobState.DELIVERED, progress=100)
    status.show(delivered, force=True)  # busy: the video says it all
    status.show(replace(delivered, id=2, status_message_id=57), force=True)  # cannot delete
    await background.idle()
    busy["now"] = False
    status.show(replace(delivered, id=3, status_message_id=58), force=True)  # quiet: "done"
    await background.idle()
    [deleted, _refused] = request.calls("deleteMessage")
    assert deleted.params["message_id"] == 55
    edits = request.calls("editMessageText")
    assert [e.params["message_id"] for e in edits] == [57, 58]
    assert all("Done" in e.params["text"] for e in edits)
