"""Consent at the tracker: a withdrawal followed to its last acknowledgement (a late one
alerted), and every sharing without consent flagged to the coordinators, once."""

import json
from dataclasses import replace

from broker.tracker.ledger import TrackerLedger
from broker.tracker.listings import SHARED_WITHOUT_CONSENT
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import ThreadFilter
from broker.tracker.state import Phase
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import AckStatus, LawfulBasis, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, RECIPIENT, SENDER, STRANGER, T0, Thread

COORDINATORS = ("coord-national", "coord-regional")


def ledger() -> TrackerLedger:
    return TrackerLedger(MemoryTrackerStore(), DEFAULT_POLICY, COORDINATORS)


async def alerts(ledger: TrackerLedger) -> list[dict[str, object]]:
    return [
        json.loads(a.alert_json)
        for a in await ledger.store.claim_unpublished_alerts(100, "test", 0.0, 60.0)
    ]


async def test_a_withdrawal_is_followed_to_the_last_acknowledgement_and_a_late_one_alerted() -> (
    None
):
    tracker = ledger()
    thread = Thread(MessageKind.CONSENT, None)
    to_b = thread.original(T0, recipient=RECIPIENT)
    to_c = thread.original(T0, recipient=STRANGER)
    await tracker.ingest([to_b, to_c], float(T0))
    await tracker.ingest([thread.answer(to_b, AckStatus.RECEIVED, T0 + HOUR)], float(T0 + HOUR))
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert row.state.phase is Phase.PENDING
    assert row.state.acknowledged == {RECIPIENT}

    # A day on (the policy's acknowledgement deadline): only the silent recipient is late.
    raised = await tracker.sweep(T0 + DAY)
    bodies = [json.loads(r.alert_json) for r in raised]
    assert bodies
    assert {b["reason"] for b in bodies} == {AlertReason.DELIVERY_OVERDUE.value}
    assert {b["recipient"] for b in bodies} == {STRANGER}
    assert STRANGER in {b["agency"] for b in bodies}  # the late agency is reminded itself

    late = thread.answer(to_c, AckStatus.RECEIVED, T0 + DAY + HOUR)
    await tracker.ingest([late], float(T0 + DAY + HOUR))
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert row.state.phase is Phase.ACKNOWLEDGED
    assert row.state.closed_at == T0 + DAY + HOUR
    assert await tracker.sweep(T0 + 3 * DAY) == []  # acknowledged: nothing more to chase


async def test_a_sharing_without_consent_is_flagged_once_to_every_coordinator() -> None:
    tracker = ledger()
    thread = Thread(MessageKind.REFERRAL, Urgency.EMERGENCY)
    basis = LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    shared = replace(thread.original(T0), basis=basis)
    cited = Thread(MessageKind.REFERRAL, Urgency.NORMAL).original(T0)
    assert await tracker.ingest([shared, cited], float(T0)) == [True, True]
    assert await tracker.ingest([shared], float(T0 + 5)) == [False]  # redelivered

    flagged = [a for a in await alerts(tracker) if a["reason"] == "shared_without_consent"]
    assert sorted(a["agency"] for a in flagged) == sorted(COORDINATORS)
    for alert in flagged:
        assert alert["level"] == AlertLevel.FLAGGED.value
        assert alert["detail"] == basis.value
        assert (alert["message_id"], alert["thread_id"]) == (shared.message_id, shared.thread_id)
        assert (alert["sender"], alert["recipient"]) == (SENDER, RECIPIENT)

    listed = await tracker.store.threads(SHARED_WITHOUT_CONSENT, ThreadFilter())
    assert [row.state.thread_id for row in listed] == [thread.thread_id]
    assert listed[0].state.basis is basis


async def test_a_sharing_refused_for_its_thread_is_not_flagged_as_shared() -> None:
    tracker = ledger()
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    await tracker.ingest([thread.original(T0)], float(T0))
    intruder = replace(
        thread.original(T0, sender=STRANGER, recipient=SENDER),
        basis=LawfulBasis.PUBLIC_TASK,
    )
    assert await tracker.ingest([intruder], float(T0 + 1)) == [False]
    reasons = {a["reason"] for a in await alerts(tracker)}
    assert reasons == {AlertReason.NOT_A_PARTY.value}
