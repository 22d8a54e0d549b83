"""Pacing of outgoing Telegram messages: per chat, per group and overall, never dropping one.

Why not PTB's `AIORateLimiter`: it throttles groups and the overall rate but lets a private
chat take any number of messages a second, and it does not know that status edits count too,
so a burst of finished videos is answered with 429s. Here every call that puts or changes a
message in a chat (sends, edits, copies, forwards; not `sendChatAction`, `getFile`,
`answerCallbackQuery`, `getUpdates`, ...) waits for its turn under Telegram's three limits:

- per chat: 1 message a second, no burst (a GCRA token bucket): Telegram documents "about
  one message a second" and answers a second message within that second with a 429;
- per group (negative or `@name` chat ids): 20 messages a minute (a sliding window);
- overall: 30 messages a second (a sliding window).

A message counts from the moment it is sent until a window's length after its answer came
back: Telegram counts it somewhere in between, so counting from the answer keeps the bot under
the limit whatever the network latency is, at the cost of a few milliseconds per window. A
chat has at most one message in flight, which also keeps its messages in the order they were
asked for, except that within a chat new content (videos, files, messages) goes before edits
of messages the user already has (progress bars, buttons): a burst of finished videos is not
held up by cosmetic status edits. Chats take turns first come, first served.

A 429 pauses only that chat for `retry_after` and puts the message back at the head of its
queue, up to `max_retries` times; nothing is ever dropped. It also doubles that chat's interval
(up to `max_slowdown` times), halving back after each `slowdown_decay` seconds without another
429: Telegram's limit is "about" one a second, and a chat where it counts stricter than we do
must not get the next message straight into the same limit. The state of a chat is forgotten as
soon as it no longer constrains anything (a second for a private chat, a minute for a group,
longer while slowed down), so memory follows the chats active recently, not every chat ever
seen. One timer serves the whole limiter.

`busy` tells the rest of the bot when a message it could leave out (a progress edit) would
take a turn that a video, a status message or a final edit needs (see `bot.chat_status`).
`watch` and `on_wire` tell `bot.delivery` how long a delivery has been on its way without
waiting for a turn: "sending video…" shows a video being sent, never one waiting in line.

`Schedule` is the pure decision logic (time passed in, no asyncio) and `PacingRateLimiter`
the `BaseRateLimiter` that python-telegram-bot calls around each request.

Replicas sharing a PostgreSQL database share Telegram's limits too, as one budget in it
(`share`, a `pace` row per key): once this replica's schedule gives a message its turn, the
message reserves its moment, in one transaction, under its chat's key (the chat is held while
the message is in flight, renewed every interval for a long upload, then, once it is answered,
for the interval and a tenth from the answer), its group's (the group's last 20 moments are
kept, so a quiet group may take several at once but never more than 20 in a minute and a
second) and the overall key (28.6 messages a second: 30 less a margin, `OVERALL_MARGIN`). A
message whose chat or group is held elsewhere reserves nothing: it gives its turn back here
and asks again at the moment it was told (`Schedule.defer`), so it never holds the overall
budget while it waits: whichever replica has messages ready takes the overall turns, and
busy replicas together send close to 30 a second whatever their work. Two replicas never take
the same moment. A single process (SQLite) has no such step. If the database does not
answer, each replica paces alone to its share of the overall limit (1/n of it, n the live
replicas from the heartbeats, `set_replicas`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import heapq
import itertools
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, IntEnum
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

ChatKey = int | str
Result = bool | dict[str, Any] | list[dict[str, Any]]

#: Method-name prefixes of calls that put or change a message in a chat.
PACED_PREFIXES = (
    "send",
    "edit",
    "copyMessage",
    "forwardMessage",
    "stopPoll",
    "stopMessageLiveLocation",
)
#: Calls with those prefixes that Telegram does not count as messages.
UNPACED = frozenset({"sendChatAction"})
#: Across replicas a chat's messages are spaced by its interval times this: another replica's
#: message may reach Telegram later after its send than ours (an upload), and the shared
#: budget cannot wait for its answer as this replica's own schedule does.
CHAT_MARGIN = 1.1
#: Seconds a message waits for its chat's shared moment while holding this replica's turn; a
#: longer wait gives the turn back meanwhile (`Schedule.defer`).
SHARED_WAIT_HELD = 0.05
#: The shared budget's key for Telegram's overall limit, and how much wider than the limit
#: its moments are spaced: a message reaches Telegram a little after its moment (unevenly),
#: and 30 moments a second would then put 31 into some second.
OVERALL_KEY = "overall"
OVERALL_MARGIN = 1.05


@dataclass(frozen=True)
class Limits:
    """Telegram's documented limits; the defaults are the ones for ordinary bots."""

    chat_interval: float = 1.0  # seconds per message in one chat, sustained
    chat_burst: int = 1  # messages a quiet chat may take back to back (Telegram allows no burst)
    group_limit: int = 20
    group_period: float = 60.0
    overall_limit: int = 30
    overall_period: float = 1.0
    max_slowdown: int = 8  # a chat's interval doubles per 429, up to this many times (power of 2)
    slowdown_decay: float = 60.0  # seconds without a 429 after which a slowdown halves


class Priority(IntEnum):
    """Which of a chat's waiting messages go first; the same priority keeps its order."""

    CONTENT = 0  # something new for the user: a video, a file, a message
    EDIT = 1  # a change to a message the user already has: progress, buttons


def priority(endpoint: str) -> Priority:
    """Edits are cosmetic next to new content: they wait while a video is waiting."""
    return Priority.EDIT if endpoint.startswith("edit") else Priority.CONTENT


class TicketState(Enum):
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"


class Ticket:
    """One message waiting for, or holding, its turn. `waiter` belongs to the async layer."""

    __slots__ = ("chat", "enqueued_at", "priority", "seq", "state", "waiter")

    def __init__(
        self, chat: _Chat, enqueued_at: float, seq: int, priority: Priority = Priority.CONTENT
    ) -> None:
        self.chat = chat
        self.enqueued_at = enqueued_at
        self.seq = seq
        self.priority = priority
        self.state = TicketState.QUEUED
        self.waiter: asyncio.Future[None] | None = None

    @property
    def chat_key(self) -> ChatKey:
        return self.chat.key


_Entry = tuple[float, int, int, int, "_Chat"]  # (ready at, head priority, head seq, unique, chat)


class _Chat:
    """What one chat's limits remember: its queues, its bucket, its slowdown and, for groups,
    its window."""

    __slots__ = (
        "busy",
        "entry",
        "key",
        "paused_until",
        "queues",
        "sent",
        "slowdown",
        "slowed_at",
        "tat",
    )

    def __init__(self, key: ChatKey, is_group: bool) -> None:
        self.key = key
        self.queues: tuple[deque[Ticket], ...] = tuple(deque() for _ in Priority)
        self.busy = False  # a message of this chat is in flight
        self.tat = -math.inf  # GCRA "theoretical arrival time" of the next message
        self.paused_until = -math.inf  # a 429's retry_after, or a turn another replica holds
        self.slowdown = 1  # the chat's interval is `chat_interval * slowdown`
        self.slowed_at = -math.inf  # the last 429 (or the last halving of the slowdown)
        self.sent: deque[float] | None = deque() if is_group else None  # answer times
        self.entry: _Entry | None = None  # its current place in the ready heap

    def head(self) -> Ticket | None:
        """The message that goes next: the oldest of the most urgent priority."""
        return next((queue[0] for queue in self.queues if queue), None)

    def waiting(self) -> int:
        return sum(len(queue) for queue in self.queues)


def is_group(chat: ChatKey) -> bool:
    """Negative ids are groups and channels; `@name` ids are supergroups or channels."""
    return isinstance(chat, str) or chat < 0


class Schedule:
    """Who may send next, given the time; the caller reports every answer back.

    Protocol: `enqueue` a message, call `grant(now)` whenever something changed or the wake-up
    time it returned has come, send the granted messages, and report each answer with `done`
    (or `retry` on a 429). Times must not go backwards.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._chats: dict[ChatKey, _Chat] = {}
        self._ready: list[_Entry] = []  # chats with a queued message and none in flight
        self._expiry: list[_Entry] = []  # chats to forget once their limits have recovered
        self._sent: deque[float] = deque()  # answer times within the overall window
        self._in_flight = 0
        self._seq = itertools.count()

    # --- what callers see ---------------------------------------------------------------------

    @property
    def tracked_chats(self) -> int:
        """Chats whose state is kept: queued, in flight or still constrained."""
        return len(self._chats)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def idle(self) -> bool:
        """Nothing waiting and nothing in flight, in any chat."""
        return self._in_flight == 0 and not any(chat.waiting() for chat in self._chats.values())

    def queued(self, chat_key: ChatKey, priority: Priority | None = None) -> int:
        """Messages waiting for their turn in the chat (of one priority, if given)."""
        chat = self._chats.get(chat_key)
        if chat is None:
            return 0
        return chat.waiting() if priority is None else len(chat.queues[priority])

    def counted(self, chat_key: ChatKey, now: float) -> int:
        """Messages the group's window still counts at `now` (0 for a private chat)."""
        chat = self._chats.get(chat_key)
        if chat is None or chat.sent is None:
            return 0
        return sum(1 for at in chat.sent if at > now - self.limits.group_period)

    def interval(self, chat_key: ChatKey, now: float) -> float:
        """The chat's current interval between two messages (longer after a 429)."""
        chat = self._chats.get(chat_key)
        return self.limits.chat_interval if chat is None else self._interval(chat, now)

    def busy(self, chat_key: ChatKey | None, now: float) -> bool:
        """Whether a message that could be left out (a progress edit) should be, because it
        would take a turn something else needs: the chat has a message waiting or in flight, or
        is paused or slowed down by a 429; its group has used half its window; or half the
        overall window is taken. A quiet chat of a quiet bot is not busy, so its progress edits
        go (one that has to wait for the chat's next second still goes after any video).
        Without a chat, only the overall budget is asked about."""
        limits = self.limits
        while self._sent and self._sent[0] <= now - limits.overall_period:
            self._sent.popleft()
        if 2 * (self._in_flight + len(self._sent)) >= limits.overall_limit:
            return True
        chat = self._chats.get(chat_key) if chat_key is not None else None
        if chat is None:
            return False
        if chat.busy or chat.waiting() or chat.paused_until > now:
            return True
        if self._interval(chat, now) > limits.chat_interval:  # slowed down after a 429
            return True
        return 2 * self.counted(chat.key, now) >= limits.group_limit

    def enqueue(
        self, chat_key: ChatKey, now: float, priority: Priority = Priority.CONTENT
    ) -> Ticket:
        """A message for `chat_key` wants to go; it waits until `grant` hands it out."""
        chat = self._chats.get(chat_key)
        if chat is None:
            chat = self._chats[chat_key] = _Chat(chat_key, is_group(chat_key))
        ticket = Ticket(chat, now, next(self._seq), priority)
        chat.queues[priority].append(ticket)
        if not chat.busy and chat.head() is ticket:  # first in line now: (re)place the chat
            self._make_ready(chat)
        return ticket

    def grant(self, now: float) -> tuple[list[Ticket], float | None]:
        """The messages that may go now, oldest turn first, and when to ask again.

        The second value is None when nothing can change before a `done`, `retry` or
        `enqueue` (nothing queued, or the overall window is full of messages in flight).
        """
        self._forget_idle(now)
        granted: list[Ticket] = []
        while (entry := self._peek()) is not None and entry[0] <= now and self._room(now) <= now:
            heapq.heappop(self._ready)
            chat = entry[-1]
            chat.entry = None
            ticket = chat.head()
            assert ticket is not None  # a chat is only in the ready heap with a message waiting
            chat.queues[ticket.priority].popleft()
            ticket.state = TicketState.SENDING
            chat.busy = True
            self._in_flight += 1
            granted.append(ticket)
        entry = self._peek()
        if entry is None:
            return granted, None
        room = self._room(now)
        return granted, None if room == math.inf else max(entry[0], room)

    def done(self, ticket: Ticket, now: float) -> None:
        """The message was answered (or failed, or its sender gave up while it waited)."""
        chat = ticket.chat
        if ticket.state is TicketState.QUEUED:
            was_head = chat.head() is ticket
            chat.queues[ticket.priority].remove(ticket)
            ticket.state = TicketState.DONE
            if was_head and not chat.busy:
                self._make_ready(chat)
        elif ticket.state is TicketState.SENDING:
            self._answered(chat, now)
            ticket.state = TicketState.DONE
            self._make_ready(chat)
        if not chat.busy and not chat.waiting():
            entry = (self._recovered_at(chat), 0, 0, next(self._seq), chat)
            heapq.heappush(self._expiry, entry)

    def retry(self, ticket: Ticket, now: float, after: float) -> None:
        """Telegram answered 429: pause the chat for `after` seconds, message first in line,
        and double the chat's interval so the messages after it do not hit the limit again."""
        assert ticket.state is TicketState.SENDING, ticket.state
        chat = ticket.chat
        self._interval(chat, now)  # let an old slowdown decay before doubling it
        chat.slowdown = min(chat.slowdown * 2, self.limits.max_slowdown)
        chat.slowed_at = now
        self._answered(chat, now)
        chat.paused_until = max(chat.paused_until, now + max(0.0, after))
        ticket.state = TicketState.QUEUED
        chat.queues[ticket.priority].appendleft(ticket)
        self._make_ready(chat)

    def defer(self, ticket: Ticket, now: float, until: float) -> None:
        """The chat's turn is held elsewhere (another replica's message) until `until`: give the
        overall turn back without counting a message, and keep the message first in line for
        then. Nothing is slowed down: this is no 429."""
        assert ticket.state is TicketState.SENDING, ticket.state
        chat = ticket.chat
        chat.busy = False
        self._in_flight -= 1
        chat.paused_until = max(chat.paused_until, until)
        ticket.state = TicketState.QUEUED
        chat.queues[ticket.priority].appendleft(ticket)
        self._make_ready(chat)

    def release_all(self) -> list[Ticket]:
        """Every queued message, marked as sending: for shutdown, where nothing may hang."""
        released: list[Ticket] = []
        for chat in self._chats.values():
            while (ticket := chat.head()) is not None:
                chat.queues[ticket.priority].popleft()
                ticket.state = TicketState.SENDING
                self._in_flight += 1
                released.append(ticket)
            chat.entry = None
        self._ready.clear()
        return released

    # --- internals ----------------------------------------------------------------------------

    def _answered(self, chat: _Chat, now: float) -> None:
        limits = self.limits
        chat.busy = False
        self._in_flight -= 1
        self._sent.append(now)
        chat.tat = max(chat.tat, now) + self._interval(chat, now)
        if chat.sent is not None:
            chat.sent.append(now)
            while chat.sent and chat.sent[0] <= now - limits.group_period:
                chat.sent.popleft()

    def _make_ready(self, chat: _Chat) -> None:
        """Put the chat in the ready heap at the time its head message may go."""
        chat.entry = None
        head = chat.head()
        if chat.busy or head is None:
            return
        limits = self.limits
        at = max(
            head.enqueued_at,
            chat.paused_until,
            chat.tat - (limits.chat_burst - 1) * limits.chat_interval,
        )
        if chat.sent is not None and len(chat.sent) >= limits.group_limit:
            at = max(at, chat.sent[len(chat.sent) - limits.group_limit] + limits.group_period)
        chat.entry = (at, head.priority, head.seq, next(self._seq), chat)
        heapq.heappush(self._ready, chat.entry)

    def _interval(self, chat: _Chat, now: float) -> float:
        """The chat's interval at `now`: its slowdown halves every quiet `slowdown_decay`."""
        limits = self.limits
        while chat.slowdown > 1 and now >= chat.slowed_at + limits.slowdown_decay:
            chat.slowdown //= 2
            chat.slowed_at += limits.slowdown_decay
        return limits.chat_interval * chat.slowdown

    def _peek(self) -> _Entry | None:
        """The earliest ready chat, dropping entries made stale by a retry or a give-up."""
        while self._ready and self._ready[0][-1].entry is not self._ready[0]:
            heapq.heappop(self._ready)
        return self._ready[0] if self._ready else None

    def _room(self, now: float) -> float:
        """When the overall window next has room: `now` or earlier if it has, inf if only an
        answer can make room (everything counted is still in flight)."""
        limits = self.limits
        while self._sent and self._sent[0] <= now - limits.overall_period:
            self._sent.popleft()
        must_expire = self._in_flight + len(self._sent) - limits.overall_limit + 1
        if must_expire <= 0:
            return now
        if must_expire > len(self._sent):
            return math.inf
        return self._sent[must_expire - 1] + limits.overall_period

    def _recovered_at(self, chat: _Chat) -> float:
        """From when forgetting the chat changes nothing: bucket full, no pause, window empty,
        no slowdown left."""
        last_in_window = chat.sent[-1] + self.limits.group_period if chat.sent else -math.inf
        halvings = chat.slowdown.bit_length() - 1
        slowed = chat.slowed_at + halvings * self.limits.slowdown_decay if halvings else -math.inf
        return max(chat.tat, chat.paused_until, last_in_window, slowed)

    def _forget_idle(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            chat = heapq.heappop(self._expiry)[-1]
            idle = not chat.busy and not chat.waiting()
            if idle and self._recovered_at(chat) <= now and self._chats.get(chat.key) is chat:
                del self._chats[chat.key]


class SharedBudget(Protocol):
    """Telegram's limits as a budget in a database that replicas share (`PostgresStore`)."""

    async def reserve_send(
        self,
        spacings: Sequence[tuple[str, float]],
        *,
        windows: Sequence[tuple[str, int, float]] = (),
        overall: tuple[str, float] | None = None,
        within: float = math.inf,
    ) -> tuple[float, dict[str, float]]:
        """Reserve the next moment allowed by every (key, spacing) and (key, limit, period)
        window: seconds until then, and each key's next moment as it left it. A moment more
        than `within` seconds away is not reserved (no keys in the answer); one within it
        takes the `overall` key's next moment too."""
        ...

    async def hold(self, key: str, spacing: float, reserved: float) -> float | None:
        """The message that moved the key's next moment to `reserved` is still in flight: hold
        the key `spacing` from now; its next moment now, or None if it moved on meanwhile."""
        ...

    async def sent(self, key: str, spacing: float, reserved: float) -> None:
        """The message that moved the key's next moment to `reserved` was answered now:
        unless another message reserved a moment since, the next one waits `spacing`."""
        ...


def chat_key(endpoint: str, data: dict[str, Any]) -> ChatKey | None:
    """The chat a call is paced in, or None when the call is not paced."""
    if endpoint in UNPACED or not endpoint.startswith(PACED_PREFIXES):
        return None
    chat_id = data.get("chat_id")
    if chat_id is None or chat_id == "":
        return None  # e.g. an edit of an inline message: no chat to pace
    if isinstance(chat_id, int):
        return chat_id
    try:
        return int(chat_id)
    except (TypeError, ValueError):
        return str(chat_id)


def retry_seconds(exc: RetryAfter) -> float:
    """`retry_after` in seconds, without PTB's int-or-timedelta deprecation warning."""
    delta = getattr(exc, "_retry_after", None)
    if isinstance(delta, timedelta):
        return delta.total_seconds()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Watch:
    """What the pacer saw of one piece of work's messages (a delivery's video): how many wait
    for their turn now, and since when none has (the start, or the last turn given)."""

    __slots__ = ("since", "waiting")

    def __init__(self, since: float) -> None:
        self.since = since
        self.waiting = 0


#: The work whose messages the current task sends (`PacingRateLimiter.watch`); python-telegram-
#: bot calls `process_request` in the task that made the call, so the delivery's own messages
#: are told from everyone else's in the same chat without passing anything through the Bot API.
_watched: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("watched", default=None)


class PacingRateLimiter(BaseRateLimiter[int]):
    """python-telegram-bot's hook around every Bot API request: paces messages (see module).

    `rate_limit_args`, when a caller passes it, is the number of 429 retries for that call.
    """

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        max_retries: int = 5,
        clock: Callable[[], float] = time.monotonic,
        drain: float = 5.0,
    ) -> None:
        """`drain`: seconds the messages still waiting at shutdown keep their pace (the last
        status edits of a stop); whatever is left then goes at once."""
        self._limits = limits or Limits()
        self._max_retries = max_retries
        self._clock = clock
        self._drain = drain
        self._schedule = Schedule(self._limits)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._shared: SharedBudget | None = None
        self._shared_failing = False
        self._replicas = 1
        self._overall_next = -math.inf  # the overall moment the shared budget last gave
        self._idle: asyncio.Event | None = None  # set once drained, while shutting down

    @property
    def schedule(self) -> Schedule:
        return self._schedule

    def share(self, budget: SharedBudget) -> None:
        """Pace together with the other replicas on `budget` (see module)."""
        self._shared = budget
        self._apply_share()

    def set_replicas(self, count: int) -> None:
        """`count` replicas are alive (this one included). While the shared budget answers,
        it keeps them together under the overall limit; while it does not, this one's share
        is 1/count of it, rounded down, so that together they still stay under it."""
        self._replicas = max(1, count)
        self._apply_share()

    def _apply_share(self) -> None:
        shared = self._shared is not None and not self._shared_failing
        limit = self._limits.overall_limit
        share = limit if shared else max(1, limit // self._replicas)
        if share != self._schedule.limits.overall_limit:
            self._schedule.limits = dataclasses.replace(self._limits, overall_limit=share)
            log.info(
                "%d replicas alive%s: %d messages per %g s are this one's share",
                self._replicas,
                "" if shared else " and no shared budget",
                share,
                self._limits.overall_period,
            )
            self._dispatch()

    async def _shared_turn(self, ticket: Ticket) -> float | None:
        """Wait, holding this replica's turn, for the moment the shared budget gives this
        message (see module); the chat's reserved next moment, for `_sending`.

        A chat (or group) another replica holds for more than a moment is waited for with
        this replica's turn given back (`Schedule.defer`), so its other chats go meanwhile;
        the message then asks again, as every other replica's message for that chat does."""
        if self._shared is None:
            return None
        key, limits = ticket.chat_key, self._limits
        while True:
            interval = self._schedule.interval(key, self._clock()) * CHAT_MARGIN
            # While the message is in flight the chat is held (`_sending`): another replica's
            # message waits for its answer, or for the hold to lapse if this replica dies.
            spacings = [(f"chat:{key}", 2 * interval)]
            windows = []
            if is_group(key):
                windows.append((f"group:{key}", limits.group_limit, limits.group_period + 1.0))
            overall = limits.overall_period / limits.overall_limit * OVERALL_MARGIN
            try:
                wait, reserved = await self._shared.reserve_send(
                    spacings,
                    windows=windows,
                    overall=(OVERALL_KEY, overall),
                    within=SHARED_WAIT_HELD,
                )
            except Exception as exc:
                if not self._shared_failing:
                    log.warning("shared pacing unavailable (%s); pacing this replica alone", exc)
                    self._shared_failing = True
                    self._apply_share()
                return None
            if self._shared_failing:
                log.warning("shared pacing available again")
                self._shared_failing = False
                self._apply_share()
            if reserved:  # its moment, overall turn included
                self._overall_next = self._clock() + wait
                if wait > 0:
                    await asyncio.sleep(wait)
                return reserved.get(f"chat:{key}")
            now = self._clock()
            self._schedule.defer(ticket, now, now + wait)
            self._dispatch()
            await self._turn(ticket)

    async def _sending(
        self, key: ChatKey, reserved: float | None, sending: Coroutine[Any, Any, Result]
    ) -> Result:
        """Send. With a shared budget the chat stays held until the answer, as this replica's
        own schedule holds it: a send taking longer than the chat's interval (an upload) renews
        the hold every interval; once answered, the chat is handed back (`_shared_answered`).
        A replica that dies mid-send stops renewing, and its hold lapses within two intervals."""
        if self._shared is None or reserved is None:
            return await sending
        interval = self._schedule.interval(key, self._clock()) * CHAT_MARGIN
        task = asyncio.ensure_future(sending)
        try:
            while not (await asyncio.wait({task}, timeout=interval))[0]:
                if reserved is not None:
                    with contextlib.suppress(Exception):  # else the hold lapses; 429 waited out
                        reserved = await self._shared.hold(f"chat:{key}", 2 * interval, reserved)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        result = task.result()
        await self._shared_answered(key, reserved)
        return result

    async def _shared_answered(self, key: ChatKey, reserved: float | None) -> None:
        """The message was answered: the chat's next moment is an interval from now (unless
        another replica reserved one meanwhile)."""
        if self._shared is None or reserved is None:
            return
        interval = self._schedule.interval(key, self._clock()) * CHAT_MARGIN
        with contextlib.suppress(Exception):  # else the hold spaces the next message
            await self._shared.sent(f"chat:{key}", interval, reserved)

    def busy(self, chat_id: ChatKey | None = None) -> bool:
        """Whether a message to `chat_id` that could be left out should be (see
        `Schedule.busy`; None: whether Telegram's overall budget is busy). What
        `bot.chat_status` asks before a status edit."""
        key = chat_key("sendMessage", {"chat_id": chat_id}) if chat_id is not None else None
        now = self._clock()
        # Replicas: the shared overall budget gave moments more than half a period ahead.
        if self._overall_next - now > self._limits.overall_period / 2:
            return True
        return self._schedule.busy(key, now)

    @contextlib.contextmanager
    def watch(self) -> Iterator[Watch]:
        """Watch the messages the current task sends within the block (see `on_wire`)."""
        watch = Watch(self._clock())
        token = _watched.set(watch)
        try:
            yield watch
        finally:
            _watched.reset(token)

    def on_wire(self, watch: Watch) -> float:
        """Seconds the watched work has been on its way without waiting for a turn: since it
        began or since its last message got its turn (a download, an upload, Telegram
        fetching a link). 0 while one of its messages waits for its turn, and while Telegram's
        overall budget is busy (an action then takes a call the messages need). What
        `bot.delivery` asks before "sending video…": the action shows a video being sent,
        never one waiting in line behind its chat's other messages."""
        if watch.waiting or self.busy():
            return 0.0
        return self._clock() - watch.since

    async def initialize(self) -> None:
        """Nothing to set up: the single timer is armed on demand."""

    async def shutdown(self) -> None:
        """Let the waiting messages go at their pace for up to `drain` seconds (a burst now
        would provoke 429s), then every one left at once rather than leave its sender hanging."""
        if not self._schedule.idle():
            self._idle = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self._drain)
        if self._timer is not None:
            self._timer.cancel()
            self._timer, self._timer_at = None, math.inf
        self._wake(self._schedule.release_all())

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        key = chat_key(endpoint, data)
        if key is None:
            return await self._unpaced(callback, args, kwargs, endpoint, retries)
        ticket = self._schedule.enqueue(key, self._clock(), priority(endpoint))
        watch = _watched.get()
        try:
            attempt = 0
            while True:
                if watch is not None:
                    watch.waiting += 1
                try:
                    await self._turn(ticket)
                    reserved = await self._shared_turn(ticket)
                finally:
                    if watch is not None:
                        watch.waiting -= 1
                        watch.since = self._clock()
                try:
                    return await self._sending(key, reserved, callback(*args, **kwargs))
                except RetryAfter as exc:
                    if attempt >= retries:
                        log.warning("%s: still rate limited after %d retries", endpoint, attempt)
                        raise
                    attempt += 1
                    seconds = retry_seconds(exc)
                    log.info("%s: Telegram asked to wait %.0f s; message kept", endpoint, seconds)
                    self._schedule.retry(ticket, self._clock(), seconds)
        finally:
            self._schedule.done(ticket, self._clock())
            self._dispatch()
            if self._idle is not None and self._schedule.idle():
                self._idle.set()

    async def _unpaced(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        retries: int,
    ) -> Result:
        """Calls that are not messages go at once; a 429 on them is still waited out."""
        attempt = 0
        while True:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt >= retries:
                    raise
                attempt += 1
                seconds = retry_seconds(exc)
                log.info("%s: Telegram asked to wait %.0f s", endpoint, seconds)
                await asyncio.sleep(seconds)

    async def _turn(self, ticket: Ticket) -> None:
        """Wait until the schedule hands this message its turn."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ticket.waiter = waiter
        self._dispatch()
        await waiter

    def _dispatch(self) -> None:
        granted, wake_at = self._schedule.grant(self._clock())
        self._wake(granted)
        if wake_at is None or wake_at >= self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        delay = max(0.0, wake_at - self._clock())
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)
        self._timer_at = wake_at

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self._dispatch()

    @staticmethod
    def _wake(tickets: list[Ticket]) -> None:
        for ticket in tickets:
            if ticket.waiter is not None and not ticket.waiter.done():
                ticket.waiter.set_result(None)
