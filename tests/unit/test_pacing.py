"""Message pacing (`bot.pacing`): which messages may go, in what order, and what is kept.

The schedule is driven by a hand-moved clock, so these tests check counts and order at given
moments and never measure real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.pacing import (
    Limits,
    PacingRateLimiter,
    Priority,
    Schedule,
    Ticket,
    chat_key,
    priority,
    retry_seconds,
)
from tests.fakes.recording import Signal

# RetryAfter's constructor reads its own deprecated int-or-timedelta property.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Clock:
    """Time that only moves when the test says so. The limiter reads it at every change to
    its schedule (a message queued, granted, answered), so `until` can wait for a state of
    the schedule: it re-checks after each read, an event rather than a number of loop turns."""

    def __init__(self) -> None:
        self.now = 0.0
        self._read = Signal()

    def __call__(self) -> float:
        self._read.notify()
        return self.now

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        await self._read.until(lambda: True if condition() else None, 10.0, what)


def send_all(schedule: Schedule, now: float) -> list[Ticket]:
    """Grant what may go at `now` and answer each at once, until nothing more may go."""
    sent: list[Ticket] = []
    while True:
        granted, _ = schedule.grant(now)
        if not granted:
            return sent
        for ticket in granted:
            schedule.done(ticket, now)
        sent += granted


def keys(tickets: list[Ticket]) -> list[Any]:
    return [ticket.chat_key for ticket in tickets]


# --- per chat -------------------------------------------------------------------------------


def test_private_chat_takes_one_a_second_and_no_burst() -> None:
    schedule = Schedule()
    for _ in range(6):
        schedule.enqueue(1001, 0.0)
    counts = [len(send_all(schedule, t)) for t in (0.0, 0.5, 0.99, 1.0, 1.5, 2.0, 3.0, 4.0)]
    assert counts == [1, 0, 0, 1, 0, 1, 1, 1]


def test_a_quiet_chat_gets_no_burst_either() -> None:
    schedule = Schedule()
    schedule.enqueue(1001, 0.0)
    send_all(schedule, 0.0)
    schedule.enqueue(1001, 50.0)
    schedule.enqueue(1001, 50.0)
    assert len(send_all(schedule, 50.0)) == 1  # Telegram answers a second one with 429
    assert len(send_all(schedule, 51.0)) == 1


def test_one_message_per_chat_in_flight_keeps_order() -> None:
    schedule = Schedule()
    first, second, third = (schedule.enqueue(1001, 0.0) for _ in range(3))
    granted, _ = schedule.grant(0.0)
    assert granted == [first]
    assert schedule.grant(5.0)[0] == []  # the first is not answered yet
    schedule.done(first, 5.0)
    assert schedule.grant(6.0)[0] == [second]
    schedule.done(second, 6.0)
    assert schedule.grant(7.0)[0] == [third]


def test_the_interval_counts_from_the_answer() -> None:
    schedule = Schedule()
    first, _ = schedule.enqueue(1001, 0.0), schedule.enqueue(1001, 0.0)
    schedule.grant(0.0)
    schedule.done(first, 0.4)  # a slow answer: Telegram may have counted it late
    assert schedule.grant(1.0)[0] == []
    _, wake = schedule.grant(1.0)
    assert wake == 1.4


def test_other_chats_are_not_held_up_by_a_busy_chat() -> None:
    schedule = Schedule()
    schedule.enqueue(1, 0.0)
    schedule.enqueue(1, 0.0)
    schedule.enqueue(2, 0.0)
    granted, _ = schedule.grant(0.0)
    assert keys(granted) == [1, 2]


# --- groups and overall ---------------------------------------------------------------------


def test_group_gets_twenty_a_minute() -> None:
    schedule = Schedule()
    for _ in range(25):
        schedule.enqueue(-100123, 0.0)
    first_minute = sum(len(send_all(schedule, float(t))) for t in range(60))
    assert first_minute == 20
    assert len(send_all(schedule, 60.0)) == 1  # the one sent at 0 s has left the window


def test_channel_username_counts_as_group() -> None:
    schedule = Schedule()
    for _ in range(25):
        schedule.enqueue("@news", 0.0)
    assert sum(len(send_all(schedule, float(t))) for t in range(60)) == 20


def test_overall_thirty_a_second_across_chats() -> None:
    schedule = Schedule()
    for chat in range(100):
        schedule.enqueue(chat + 1, 0.0)
    counts = [len(send_all(schedule, t)) for t in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)]
    assert counts == [30, 0, 30, 0, 30, 10]


def test_messages_in_flight_count_until_their_answer_plus_a_window() -> None:
    schedule = Schedule()
    for chat in range(60):
        schedule.enqueue(chat + 1, 0.0)
    slow, wake = schedule.grant(0.0)
    assert len(slow) == 30
    assert wake is None  # only an answer can make room
    assert schedule.grant(10.0)[0] == []  # still in flight, still counted
    for ticket in slow:
        schedule.done(ticket, 10.0)
    assert schedule.grant(10.5)[0] == []
    assert len(schedule.grant(11.0)[0]) == 30


def test_turns_are_first_come_first_served_across_chats() -> None:
    schedule = Schedule(Limits(overall_limit=2))
    order = [3, 1, 2, 5, 4, 7, 6]
    for position, chat in enumerate(order):
        schedule.enqueue(chat, position * 0.01)
    sent: list[Ticket] = []
    for step in range(10):
        sent += send_all(schedule, 0.1 + step)
    assert keys(sent) == order


# --- 429, giving up, shutdown ---------------------------------------------------------------


def test_retry_after_pauses_only_that_chat_and_keeps_the_message_first() -> None:
    schedule = Schedule()
    a1, a2 = schedule.enqueue(1, 0.0), schedule.enqueue(1, 0.0)
    b1, b2 = schedule.enqueue(2, 0.0), schedule.enqueue(2, 0.0)
    granted, _ = schedule.grant(0.0)
    assert granted == [a1, b1]
    schedule.retry(a1, 0.0, after=5.0)
    schedule.done(b1, 0.0)
    assert schedule.grant(1.0)[0] == [b2]
    assert [schedule.grant(float(t))[0] for t in range(2, 5)] == [[], [], []]
    assert schedule.grant(5.0)[0] == [a1]
    schedule.done(a1, 5.0)
    assert schedule.grant(6.0)[0] == []  # the chat is slowed down: two seconds now
    assert schedule.grant(7.0)[0] == [a2]


def test_a_429_doubles_the_chats_interval_until_it_decays() -> None:
    limits = Limits(slowdown_decay=60.0)
    schedule = Schedule(limits)
    first = schedule.enqueue(1, 0.0)
    schedule.grant(0.0)
    schedule.retry(first, 0.0, after=1.0)
    assert schedule.interval(1, 0.0) == 2.0
    assert schedule.interval(2, 0.0) == 1.0  # other chats keep Telegram's pace
    assert schedule.grant(1.9)[0] == []  # retry_after has passed, the slower pace has not
    assert schedule.grant(2.0)[0] == [first]
    schedule.retry(first, 2.0, after=1.0)  # a second 429 in a row: slower still
    assert schedule.interval(1, 2.0) == 4.0
    assert schedule.grant(6.0)[0] == [first]
    schedule.done(first, 6.0)
    assert schedule.interval(1, 61.0) == 4.0
    assert schedule.interval(1, 62.0) == 2.0  # a minute without a 429 halves it
    assert schedule.interval(1, 122.0) == 1.0


def test_the_slowdown_has_a_ceiling() -> None:
    schedule = Schedule(Limits(max_slowdown=4))
    ticket = schedule.enqueue(1, 0.0)
    for attempt in range(5):
        schedule.grant(float(attempt * 10))
        schedule.retry(ticket, float(attempt * 10), after=0.0)
    assert schedule.interval(1, 40.0) == 4.0


def test_messages_after_a_429_keep_the_slower_pace() -> None:
    schedule = Schedule()
    tickets = [schedule.enqueue(1, 0.0) for _ in range(4)]
    schedule.grant(0.0)
    schedule.retry(tickets[0], 0.0, after=1.0)
    sent_at = []
    for step in range(40):
        now = step * 0.25
        for ticket in send_all(schedule, now):
            sent_at.append((tickets.index(ticket), now))
    assert sent_at == [(0, 2.0), (1, 4.0), (2, 6.0), (3, 8.0)]


def test_a_message_given_up_while_waiting_leaves_the_queue() -> None:
    schedule = Schedule()
    first, second, third = (schedule.enqueue(1, 0.0) for _ in range(3))
    assert schedule.grant(0.0)[0] == [first]
    schedule.done(second, 0.0)  # its sender was cancelled
    schedule.done(first, 0.0)
    assert schedule.grant(1.0)[0] == [third]
    schedule.done(third, 1.0)
    assert schedule.grant(10.0)[0] == []


# --- priority within a chat -----------------------------------------------------------------


def test_content_goes_before_edits_and_each_keeps_its_order() -> None:
    schedule = Schedule()
    names: dict[Ticket, str] = {}
    for name, kind in (
        ("edit1", Priority.EDIT),
        ("edit2", Priority.EDIT),
        ("video1", Priority.CONTENT),
        ("edit3", Priority.EDIT),
        ("video2", Priority.CONTENT),
    ):
        names[schedule.enqueue(1, 0.0, kind)] = name
    order = [names[t] for step in range(6) for t in send_all(schedule, float(step))]
    assert order == ["video1", "video2", "edit1", "edit2", "edit3"]


def test_a_video_arriving_behind_a_waiting_edit_overtakes_it() -> None:
    schedule = Schedule()
    first = schedule.enqueue(1, 0.0)
    schedule.grant(0.0)
    edit = schedule.enqueue(1, 0.1, Priority.EDIT)
    schedule.done(first, 0.2)
    video = schedule.enqueue(1, 0.5, Priority.CONTENT)  # while the edit waits for its turn
    assert schedule.grant(1.2)[0] == [video]
    schedule.done(video, 1.3)
    assert schedule.grant(2.3)[0] == [edit]


def test_an_edit_retried_after_a_429_still_lets_content_first() -> None:
    schedule = Schedule()
    edit = schedule.enqueue(1, 0.0, Priority.EDIT)
    schedule.grant(0.0)
    video = schedule.enqueue(1, 0.0, Priority.CONTENT)
    schedule.retry(edit, 0.0, after=1.0)
    assert schedule.queued(1) == 2 and schedule.queued(1, Priority.EDIT) == 1
    assert schedule.grant(2.0)[0] == [video]
    schedule.done(video, 2.0)
    assert schedule.grant(4.0)[0] == [edit]


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("sendVideo", Priority.CONTENT),
        ("sendDocument", Priority.CONTENT),
        ("sendMessage", Priority.CONTENT),
        ("copyMessage", Priority.CONTENT),
        ("editMessageText", Priority.EDIT),
        ("editMessageReplyMarkup", Priority.EDIT),
        ("editMessageCaption", Priority.EDIT),
    ],
)
def test_priority_of_calls(endpoint: str, expected: Priority) -> None:
    assert priority(endpoint) is expected


def test_a_deferred_message_gives_back_its_turn_and_goes_at_its_moment() -> None:
    """Another replica holds the chat until t=2 (`defer`): the overall turn goes to another
    chat, nothing counts as sent, nothing slows down, and the message is first at t=2."""
    schedule = Schedule(Limits(chat_interval=1.0, overall_limit=1))
    first = schedule.enqueue(1, 0.0)
    behind = schedule.enqueue(1, 0.0)
    assert schedule.grant(0.0)[0] == [first]
    schedule.defer(first, 0.0, 2.0)
    other = schedule.enqueue(2, 0.0)
    assert schedule.grant(0.0)[0] == [other]
    assert schedule.busy(1, 0.5)
    schedule.done(other, 0.5)
    granted, wake_at = schedule.grant(1.0)
    assert granted == [] and wake_at == 2.0
    assert schedule.grant(2.0)[0] == [first]
    assert schedule.interval(1, 2.0) == 1.0
    schedule.done(first, 2.0)
    assert schedule.grant(2.9)[0] == [] and schedule.grant(3.0)[0] == [behind]


def test_release_all_lets_every_waiting_message_go() -> None:
    schedule = Schedule(Limits(overall_limit=1))
    tickets = [schedule.enqueue(chat, 0.0) for chat in (1, 2, 3)]
    assert schedule.grant(0.0)[0] == tickets[:1]
    assert schedule.release_all() == tickets[1:]
    for ticket in tickets:
        schedule.done(ticket, 0.0)
    assert schedule.in_flight == 0


# --- memory ---------------------------------------------------------------------------------


def test_idle_private_chats_are_forgotten() -> None:
    schedule = Schedule(Limits(overall_limit=10_000))
    for chat in range(5_000):
        schedule.enqueue(chat + 1, 0.0)
    assert len(send_all(schedule, 0.0)) == 5_000
    assert schedule.tracked_chats == 5_000  # a second has not passed: their buckets matter
    schedule.grant(1.0)
    assert schedule.tracked_chats == 0


def test_group_state_is_kept_for_a_minute_then_forgotten() -> None:
    schedule = Schedule()
    schedule.enqueue(-100, 0.0)
    send_all(schedule, 0.0)
    schedule.grant(59.0)
    assert schedule.tracked_chats == 1
    schedule.grant(60.0)
    assert schedule.tracked_chats == 0


def test_a_slowed_down_chat_is_remembered_until_its_slowdown_decayed() -> None:
    schedule = Schedule(Limits(slowdown_decay=60.0))
    ticket = schedule.enqueue(1, 0.0)
    schedule.grant(0.0)
    schedule.retry(ticket, 0.0, after=1.0)
    schedule.grant(2.0)
    schedule.done(ticket, 2.0)
    schedule.grant(59.0)
    assert schedule.tracked_chats == 1  # forgetting it would forget the slowdown
    schedule.grant(60.0)
    assert schedule.tracked_chats == 0


def test_chats_that_keep_sending_are_not_forgotten_midway() -> None:
    schedule = Schedule()
    for second in range(5):
        schedule.enqueue(1, float(second))
        assert len(send_all(schedule, float(second))) == 1
        assert schedule.tracked_chats == 1


# --- which calls are paced -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "data", "key"),
    [
        ("sendMessage", {"chat_id": 5}, 5),
        ("sendVideo", {"chat_id": "-100"}, -100),
        ("editMessageText", {"chat_id": 5, "message_id": 1}, 5),
        ("copyMessage", {"chat_id": "@channel"}, "@channel"),
        ("editMessageText", {"inline_message_id": "x"}, None),
        ("sendChatAction", {"chat_id": 5}, None),
        ("answerCallbackQuery", {"callback_query_id": "1"}, None),
        ("getUpdates", {}, None),
        ("getFile", {"file_id": "f"}, None),
        ("setMyCommands", {}, None),
    ],
)
def test_chat_key(endpoint: str, data: dict[str, Any], key: Any) -> None:
    assert chat_key(endpoint, data) == key


def test_retry_seconds_reads_the_hint() -> None:
    assert retry_seconds(RetryAfter(7)) == 7.0


# --- the rate limiter python-telegram-bot calls ----------------------------------------------

FAST = Limits(chat_interval=0.0)  # per-chat order and one-in-flight without waiting


class Recorder:
    """A fake Bot API call: records what ran, fails with 429 on cue, can be held open."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.floods: dict[str, int] = {}
        self.held: dict[str, asyncio.Event] = {}
        self._started = asyncio.Condition()

    async def until_started(self, count: int) -> None:
        """Until `count` calls have started (an event, not a number of loop turns)."""
        async with self._started, asyncio.timeout(10):
            await self._started.wait_for(lambda: len(self.started) >= count)

    async def __call__(self, name: str) -> bool:
        self.started.append(name)
        async with self._started:
            self._started.notify_all()
        if name in self.held:
            await self.held[name].wait()
        if self.floods.get(name, 0) > 0:
            self.floods[name] -= 1
            raise RetryAfter(0)
        self.finished.append(name)
        return True


def call(
    limiter: PacingRateLimiter,
    recorder: Recorder,
    name: str,
    endpoint: str,
    chat: int | None,
    rate_limit_args: int | None = None,
) -> asyncio.Task[Any]:
    data = {} if chat is None else {"chat_id": chat}
    return asyncio.create_task(
        limiter.process_request(recorder, (name,), {}, endpoint, data, rate_limit_args)
    )


async def test_limiter_keeps_each_chats_order_and_runs_chats_side_by_side() -> None:
    limiter, recorder = PacingRateLimiter(FAST, clock=Clock()), Recorder()
    recorder.held["a1"] = asyncio.Event()
    tasks = [
        call(limiter, recorder, name, "sendMessage", chat)
        for name, chat in (("a1", 1), ("a2", 1), ("b1", 2), ("a3", 1))
    ]
    await recorder.until_started(2)
    assert recorder.started == ["a1", "b1"]  # a2 waits for a1's answer; b1 does not
    recorder.held["a1"].set()
    await asyncio.gather(*tasks)
    assert [n for n in recorder.finished if n.startswith("a")] == ["a1", "a2", "a3"]
    assert limiter.schedule.in_flight == 0


async def test_limiter_lets_unpaced_calls_through_a_full_window() -> None:
    limiter = PacingRateLimiter(Limits(chat_interval=0.0, overall_limit=1), clock=Clock())
    recorder = Recorder()
    recorder.held["slow"] = asyncio.Event()
    slow = call(limiter, recorder, "slow", "sendVideo", 1)
    waiting = call(limiter, recorder, "next", "sendMessage", 2)
    action = call(limiter, recorder, "action", "sendChatAction", 2)
    updates = call(limiter, recorder, "updates", "getUpdates", None)
    await asyncio.gather(action, updates)
    assert recorder.finished == ["action", "updates"]
    recorder.held["slow"].set()
    await slow
    await limiter.shutdown()  # the clock never moves, so release the one still waiting
    await waiting
    assert recorder.finished == ["action", "updates", "slow", "next"]


async def test_limiter_retries_a_429_and_keeps_the_message() -> None:
    limiter, recorder = PacingRateLimiter(FAST, clock=Clock()), Recorder()
    recorder.floods["video"] = 2
    assert await call(limiter, recorder, "video", "sendVideo", 1) is True
    assert recorder.started == ["video"] * 3
    assert recorder.finished == ["video"]


async def test_limiter_gives_up_after_max_retries() -> None:
    limiter, recorder = PacingRateLimiter(FAST, max_retries=2, clock=Clock()), Recorder()
    recorder.floods["video"] = 10
    with pytest.raises(RetryAfter):
        await call(limiter, recorder, "video", "sendVideo", 1)
    assert recorder.started == ["video"] * 3
    assert limiter.schedule.in_flight == 0


async def test_rate_limit_args_set_the_retries_of_one_call() -> None:
    limiter, recorder = PacingRateLimiter(FAST, max_retries=5, clock=Clock()), Recorder()
    recorder.floods["edit"] = 10
    with pytest.raises(RetryAfter):
        await call(limiter, recorder, "edit", "editMessageText", 1, rate_limit_args=0)
    assert recorder.started == ["edit"]


async def test_unpaced_429_is_retried_too() -> None:
    limiter, recorder = PacingRateLimiter(FAST, clock=Clock()), Recorder()
    recorder.floods["file"] = 1
    assert await call(limiter, recorder, "file", "getFile", None) is True
    assert recorder.started == ["file", "file"]


async def test_cancelled_sender_frees_its_place() -> None:
    limiter, recorder = PacingRateLimiter(FAST, clock=Clock()), Recorder()
    recorder.held["first"] = asyncio.Event()
    first = call(limiter, recorder, "first", "sendMessage", 1)
    second = call(limiter, recorder, "second", "sendMessage", 1)
    third = call(limiter, recorder, "third", "sendMessage", 1)
    await recorder.until_started(1)  # the first is in flight, the other two queued behind it
    second.cancel()
    recorder.held["first"].set()
    await asyncio.gather(first, third)
    assert second.cancelled()
    assert recorder.finished == ["first", "third"]


async def test_limiter_sends_a_waiting_video_before_waiting_edits() -> None:
    clock = Clock()
    limiter, recorder = PacingRateLimiter(FAST, clock=clock), Recorder()
    recorder.held["status"] = asyncio.Event()
    tasks = [call(limiter, recorder, "status", "sendMessage", 1)]
    await recorder.until_started(1)  # the status message is in flight (held)
    tasks += [
        call(limiter, recorder, name, endpoint, 1)
        for name, endpoint in (
            ("progress", "editMessageText"),
            ("video", "sendVideo"),
            ("done", "editMessageText"),
        )
    ]
    await clock.until(lambda: limiter.schedule.queued(1) == 3, "three calls queued behind it")
    recorder.held["status"].set()
    await asyncio.gather(*tasks)
    assert recorder.finished == ["status", "video", "progress", "done"]


async def test_shutdown_lets_the_waiting_messages_go_at_their_pace() -> None:
    """Messages still queued when the bot stops (its last status edits) keep the chat's pace:
    one in flight at a time, in order, rather than a burst that Telegram answers with 429."""
    limiter = PacingRateLimiter(Limits(chat_interval=0.01), drain=10.0)
    entered, release = asyncio.Event(), asyncio.Event()
    in_flight, peak, order = 0, 0, []

    async def send(n: int) -> bool:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if n == 1:
            entered.set()
            await release.wait()  # the first is in flight; the other two wait behind it
        order.append(n)
        in_flight -= 1
        return True

    sends = [
        asyncio.create_task(
            limiter.process_request(send, (n,), {}, "sendMessage", {"chat_id": 7}, None)
        )
        for n in (1, 2, 3)
    ]
    await entered.wait()
    stopping = asyncio.create_task(limiter.shutdown())
    await asyncio.wait({stopping}, timeout=0.05)  # an old shutdown would release all by now
    release.set()
    assert await asyncio.gather(*sends) == [True, True, True]
    await stopping
    assert order == [1, 2, 3] and peak == 1


# --- busy: when a message that could be left out should be ----------------------------------


def test_a_chat_is_busy_while_it_has_a_message_waiting_or_in_flight() -> None:
    schedule = Schedule()
    assert not schedule.busy(1, 0.0)  # never seen: quiet
    first = schedule.enqueue(1, 0.0)
    second = schedule.enqueue(1, 0.0)
    [granted], _ = schedule.grant(0.0)
    assert granted is first and schedule.busy(1, 0.0)  # one in flight, one waiting
    assert not schedule.busy(2, 0.0)  # another chat is not held up by this one
    schedule.done(first, 0.1)
    assert schedule.busy(1, 0.5)  # the second waits for the chat's next second
    [granted], _ = schedule.grant(1.1)
    schedule.done(second, 1.2)
    # Nothing waiting: an edit now waits for the chat's next second, but takes no turn
    # something else needs (a video would still go first).
    assert not schedule.busy(1, 1.5)


def test_a_chat_slowed_down_or_paused_by_a_429_is_busy_until_it_recovers() -> None:
    schedule = Schedule(Limits(slowdown_decay=10.0))
    ticket = schedule.enqueue(1, 0.0)
    schedule.grant(0.0)
    schedule.retry(ticket, 0.0, after=3.0)
    [again], _ = schedule.grant(3.0)
    schedule.done(again, 3.0)
    assert schedule.busy(1, 6.0)  # past its pause and its second, but still slowed down
    assert not schedule.busy(1, 10.5)  # the slowdown halved back to none


def test_a_group_is_busy_once_half_its_minute_is_used() -> None:
    schedule = Schedule()
    for n in range(10):
        now = float(n * 2)
        schedule.enqueue(-100, now)
        send_all(schedule, now)
        assert schedule.busy(-100, now + 1.5) is (n == 9)  # 10 of 20 in the window: busy
    assert not schedule.busy(-100, 61.0)  # the first ones left the window


def test_every_chat_is_busy_while_half_the_overall_second_is_taken() -> None:
    schedule = Schedule()
    for chat in range(14):
        schedule.enqueue(chat, 0.0)
    send_all(schedule, 0.0)
    assert not schedule.busy(999, 0.0)  # 14 of 30: room to spare
    schedule.enqueue(14, 0.0)
    send_all(schedule, 0.0)
    assert schedule.busy(999, 0.0)  # 15 of 30: progress edits give way everywhere
    assert not schedule.busy(999, 1.01)


async def test_the_limiter_answers_busy_for_the_chat_id_a_call_names() -> None:
    limiter = PacingRateLimiter(clock=Clock())
    assert not limiter.busy(42)
    sent, release = asyncio.Event(), asyncio.Event()

    async def held() -> bool:
        sent.set()
        await release.wait()
        return True

    sending = asyncio.create_task(
        limiter.process_request(held, (), {}, "sendMessage", {"chat_id": 42}, None)
    )
    await sent.wait()
    assert limiter.busy(42) and limiter.busy("42")  # the chat id as int or as text
    assert not limiter.busy(43)
    release.set()
    assert await sending
    assert not limiter.busy(42)


async def test_on_wire_counts_from_the_turn_never_while_a_watched_message_waits() -> None:
    clock = Clock()
    limiter, recorder = PacingRateLimiter(FAST, clock=clock), Recorder()
    recorder.held["status"] = asyncio.Event()
    recorder.held["video"] = asyncio.Event()
    status = call(limiter, recorder, "status", "sendMessage", 1)  # the chat's turn is taken
    await recorder.until_started(1)
    with limiter.watch() as watch:
        video = call(limiter, recorder, "video", "sendVideo", 1)  # a task inherits the watch
        other = call(limiter, recorder, "other", "sendMessage", 2)  # also watched, never waits
        await clock.until(lambda: limiter.schedule.queued(1) == 1, "the video queued")
        await other
    assert watch.waiting == 1
    clock.now = 5.0  # five seconds in line: not on the wire
    assert limiter.on_wire(watch) == 0.0
    recorder.held["status"].set()  # answered: the video gets its turn now
    await status
    await recorder.until_started(3)
    assert watch.waiting == 0 and limiter.on_wire(watch) == 0.0  # on the wire since just now
    clock.now = 7.5
    assert limiter.on_wire(watch) == 2.5
    recorder.held["video"].set()
    await video
    assert limiter.on_wire(watch) == 2.5  # after its answer the work goes on (e.g. a download)


async def test_on_wire_is_zero_while_the_overall_budget_is_busy() -> None:
    clock = Clock()
    limiter = PacingRateLimiter(Limits(overall_limit=2), clock=clock)
    recorder = Recorder()
    recorder.held["other chat"] = asyncio.Event()
    with limiter.watch() as watch:
        clock.now = 3.0
        assert limiter.on_wire(watch) == 3.0
        busy = call(limiter, recorder, "other chat", "sendMessage", 2)  # half the budget taken
        await recorder.until_started(1)
        assert limiter.on_wire(watch) == 0.0
    recorder.held["other chat"].set()
    await busy


async def test_unwatched_messages_leave_a_watch_alone() -> None:
    clock = Clock()
    limiter, recorder = PacingRateLimiter(FAST, clock=clock), Recorder()
    with limiter.watch() as watch:
        pass
    await call(limiter, recorder, "later", "sendVideo", 1)  # after the block: not watched
    clock.now = 4.0
    assert watch.waiting == 0 and limiter.on_wire(watch) == 4.0
