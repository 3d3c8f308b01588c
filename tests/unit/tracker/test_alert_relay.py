"""The tracker's alert relay: capped retries and one log line per outage, not one per try;
two relays over one store publish each alert once, and a dead relay's batch goes out when
its lease ends."""

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from structlog.testing import capture_logs

import broker.tracker.alert_relay as alert_relay_module
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S
from broker.messaging.errors import BrokerUnavailable, PublishRefused
from broker.tracker.alert_relay import BATCH, LEASE_S, AlertRelay
from broker.tracker.ledger import TrackerLedger
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import LEASE_HOLDER_CHARS, RecordedAlert
from schemas.kinds import MessageKind, Urgency
from tests.unit.tracker.builders import HOUR, T0, Thread


class OneAlertStore:
    """The two calls the relay makes, over one recorded alert."""

    def __init__(self) -> None:
        self.alert = RecordedAlert(
            key="reminder|thread-1|hospital-east",
            alert_json="{}",
            routing_key="alert.reminder.hospital-east",
            raised_at=1.0,
        )

    async def claim_unpublished_alerts(
        self, limit: int, holder: str, now: float, lease_s: float
    ) -> list[RecordedAlert]:
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


class CountingPublisher:
    """Counts each alert id published; yields on every publish, as awaiting a confirm does,
    so relays running together interleave."""

    def __init__(self) -> None:
        self.published: Counter[str] = Counter()

    async def publish(self, *_: Any, message_id: str, **__: Any) -> None:
        await asyncio.sleep(0)
        self.published[message_id] += 1

    async def close(self) -> None:
        pass


async def store_owing(threads: int) -> MemoryTrackerStore:
    """A store with 3 unpublished reminders per late referral."""
    store = MemoryTrackerStore()
    ledger = TrackerLedger(store, DEFAULT_POLICY, ("coord-national", "coord-north"))
    late = [Thread(MessageKind.REFERRAL, Urgency.HIGH) for _ in range(threads)]
    await ledger.ingest([thread.original(T0) for thread in late], 0.0)
    assert len(await ledger.sweep(T0 + HOUR)) == 3 * threads
    return store


async def test_two_relays_over_one_store_publish_each_alert_once() -> None:
    store, publisher = await store_owing(BATCH), CountingPublisher()  # 3 batches of alerts
    relays = [AlertRelay(store, publisher) for _ in range(2)]

    async def drain(relay: AlertRelay) -> None:
        while await relay.publish_pending():
            pass

    await asyncio.gather(*(drain(relay) for relay in relays))
    assert len(publisher.published) == 3 * BATCH
    assert set(publisher.published.values()) == {1}


async def test_a_dead_relays_batch_is_published_by_another_once_its_lease_ends() -> None:
    store, publisher = await store_owing(2), CountingPublisher()
    now = [1000.0]
    dying = AlertRelay(store, FailingPublisher(1, BrokerUnavailable("down")), lambda: now[0])
    with capture_logs():
        assert await dying.publish_pending() == 0  # claimed all 6, then "died"
    other = AlertRelay(store, publisher, lambda: now[0])
    now[0] += LEASE_S - 1
    assert await other.publish_pending() == 0
    now[0] += 1
    assert await other.publish_pending() == 6
    assert set(publisher.published.values()) == {1}


def test_relay_names_differ_and_fit_the_store() -> None:
    names = {alert_relay_module.relay_name() for _ in range(100)}
    assert len(names) == 100
    assert all(len(name) <= LEASE_HOLDER_CHARS for name in names)
