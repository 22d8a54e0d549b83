"""The alert conditions' state, with a fake clock: raised once, repeated at most every
`repeat` seconds while they last, cleared once."""

from __future__ import annotations

from bot.alerts import Alerts
from bot.providers.base import AccountStatus


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str) -> object:
        self.messages.append((chat_id, text))
        return None


def alerts(clock: Clock) -> Alerts:
    return Alerts(None, [1], clock=clock, repeat=3600, submit_outage=300)


def test_submit_failures_raise_after_the_outage_period_only() -> None:
    clock = Clock()
    a = alerts(clock)
    assert a.submit_failed("apiframe") is None
    clock.now += 299
    assert a.submit_failed("apiframe") is None
    clock.now += 1
    text = a.submit_failed("apiframe")
    assert text is not None and "apiframe" in text and "5 min" in text
    assert a.raised() == [("submits", "apiframe")]
    clock.now += 60
    assert a.submit_failed("apiframe") is None  # once, not once per job
    clock.now += 3600
    assert a.submit_failed("apiframe") is not None  # reminded after an hour
    recovered = a.submit_succeeded("apiframe")
    assert recovered is not None and "apiframe" in recovered and "again" in recovered
    assert a.raised() == []
    assert a.submit_succeeded("apiframe") is None  # nothing to clear


def test_a_success_restarts_the_outage_clock() -> None:
    clock = Clock()
    a = alerts(clock)
    a.submit_failed("kling")
    clock.now += 200
    assert a.submit_succeeded("kling") is None  # never raised: no "recovered" either
    a.submit_failed("kling")
    clock.now += 200
    assert a.submit_failed("kling") is None
    assert a.submit_failed("aimlapi") is None  # per provider


def test_delivery_failures_in_a_row_raise_once() -> None:
    a = Alerts(None, [1], clock=Clock(), delivery_failures=3)
    assert a.delivery_failed() is None
    assert a.delivery_failed() is None
    assert a.delivery_succeeded() is None  # the run is broken: start over
    assert [a.delivery_failed() for _ in range(2)] == [None, None]
    assert a.delivery_failed() is not None
    assert a.delivery_failed() is None
    assert a.delivery_succeeded() is not None
    assert a.raised() == []


def test_low_balance_raises_once_and_clears_when_topped_up() -> None:
    clock = Clock()
    a = Alerts(None, [1], clock=clock, low_balance=100)
    assert a.balance("apiframe", 500) is None
    low = a.balance("apiframe", 50)
    assert low is not None and "apiframe" in low and "50" in low
    assert a.balance("apiframe", 40) is None
    clock.now += 3600
    assert a.balance("apiframe", 30) is not None
    assert a.balance("apiframe", None) is None  # the provider did not say: no change
    assert a.raised() == [("balance", "apiframe")]
    topped = a.balance("apiframe", 1000)
    assert topped is not None and "1000" in topped
    assert a.raised() == []


def test_no_balance_alerts_without_a_threshold() -> None:
    a = Alerts(None, [1], clock=Clock())
    assert a.balance("apiframe", 0) is None


class Provider:
    def __init__(self, credits: float | None) -> None:
        self.credits = credits

    async def account(self) -> AccountStatus:
        return AccountStatus(balance=None, checked="test", credits=self.credits)


async def test_messages_go_to_every_admin() -> None:
    sent = Sent()
    a = Alerts(sent, [2, 1], clock=Clock(), low_balance=10)
    await a.check_balances({"apiframe": Provider(5), "sandbox": Provider(None)})  # type: ignore[dict-item]
    await a.drain()
    assert [chat for chat, _ in sent.messages] == [1, 2]
    assert all("apiframe" in text for _, text in sent.messages)
