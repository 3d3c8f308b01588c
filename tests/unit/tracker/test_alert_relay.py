"""The tracker's alert relay: capped retries and one log line per outage, not one per try."""

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from structlog.testing import capture_logs

import broker.tracker.alert_relay as alert_relay_module
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S
from broker.messaging.errors import BrokerUnavailable, PublishRefused
from broker.tracker.alert_relay import AlertRelay
from broker.tracker.records import RecordedAlert


class OneAlertStore:
    """The two calls the relay makes, over one recorded alert."""

    def __init__(self) -> None:
        self.alert = RecordedAlert(
            key="reminder|thread-1|hospital-east",
            alert_json="{}",
            routing_key="alert.reminder.hospital-east",
            raised_at=1.0,
        )

    async def unpublished_alerts(self, limit: int) -> list[RecordedAlert]:
        return [] if self.alert.published_at is not None else [self.alert]

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        self.alert = replace(self.alert, published_at=at)


class FailingPublisher:
    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.attempts = failures, error, 0

    async def publish(self, *_: Any, **__: Any) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error

    async def close(self) -> None:
        pass


async def test_an_outage_is_one_line_and_its_end_another() -> None:
    store, publisher = OneAlertStore(), FailingPublisher(40, BrokerUnavailable("down"))
    relay = AlertRelay(store, publisher)  # type: ignore[arg-type]
    with capture_logs() as lines:
        for _ in range(40):
            assert await relay.publish_pending() == 0
        assert await relay.publish_pending() == 1
    assert [line["event"] for line in lines] == [
        "alert not published; will retry",
        "alert publishing: recovered",
    ]
    assert lines[1]["count"] == 40


async def test_a_refusal_is_logged_as_refused() -> None:
    store = OneAlertStore()
    publisher = FailingPublisher(1, PublishRefused("no write permission", code=403))
    with capture_logs() as lines:
        await AlertRelay(store, publisher).publish_pending()  # type: ignore[arg-type]
    assert (lines[0]["reason"], lines[0]["code"], lines[0]["log_level"]) == (
        "publish_refused",
        403,
        "error",
    )


async def test_retries_back_off_to_a_few_seconds_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []

    async def record_wait(event: asyncio.Event, seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 30:
            raise asyncio.CancelledError

    monkeypatch.setattr(alert_relay_module, "wait_at_most", record_wait)
    publisher = FailingPublisher(10_000, BrokerUnavailable("down"))
    with capture_logs(), pytest.raises(asyncio.CancelledError):
        await AlertRelay(OneAlertStore(), publisher).run()  # type: ignore[arg-type]
    assert max(waits) <= OUTAGE_MAX_DELAY_S
    assert max(waits) >= OUTAGE_MAX_DELAY_S / 2
