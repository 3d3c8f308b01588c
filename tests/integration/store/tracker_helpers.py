"""Helpers of the TrackerStore tests: readable alerts and the expected ladder."""

from broker.tracker.ports import TrackerStore
from broker.tracker.records import RecordedAlert
from schemas.alert import Alert

Rung = tuple[str, str, str]  # (level, reason, addressee agency)


def rungs(recorded: list[RecordedAlert]) -> set[Rung]:
    """What each recorded alert says, checked against its key and routing key."""
    found: set[Rung] = set()
    for record in recorded:
        body = Alert.model_validate_json(record.alert_json)
        assert record.routing_key == f"alert.{body.level}.{body.agency}"
        assert record.key.endswith(f">{body.agency}")
        found.add((body.level.value, body.reason.value, body.agency))
    return found


def keys(recorded: list[RecordedAlert]) -> list[str]:
    """The keys of `recorded`, in order."""
    return [record.key for record in recorded]


def thread_of(record: RecordedAlert) -> str:
    """The thread an alert is about."""
    thread_id = Alert.model_validate_json(record.alert_json).thread_id
    assert thread_id is not None
    return thread_id


READER = "test-reader"


async def owed(store: TrackerStore, limit: int = 100) -> list[RecordedAlert]:
    """The oldest unpublished alerts, claimed by one relay, READER, whose leases never
    stand in its own way: asked again, it gets the ones still unpublished again."""
    return await store.claim_unpublished_alerts(limit, READER, now=0.0, lease_s=60.0)
