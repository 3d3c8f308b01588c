"""Events from headers, transfers, consent withdrawals and the FHIR status of each phase."""

from dataclasses import replace

import pytest

from broker.tracker.events import TrackedEvent, event_from_header
from broker.tracker.state import FhirTaskStatus, Phase, fhir_status, thread_state
from schemas.header import EnvelopeHeader
from schemas.kinds import AckStatus, MessageKind, Suite
from tests.unit.tracker.builders import HOUR, MINUTE, RECIPIENT, SENDER, T0, Thread, new_id

A = AckStatus
TRANSFER = MessageKind.TRANSFER
REFERRAL = MessageKind.REFERRAL

# --- events ------------------------------------------------------------------------------


def test_an_event_keeps_the_tracked_header_fields() -> None:
    header = EnvelopeHeader(
        suite=Suite.X25519,
        message_id=new_id(),
        thread_id=new_id(),
        kind=MessageKind.ACKNOWLEDGEMENT,
        sender=RECIPIENT,
        recipient=SENDER,
        sender_kid="a" * 64,
        recipient_kid="b" * 64,
        issued_at=T0,
        expires_at=T0 + HOUR,
        respond_by=T0 + 2 * HOUR,
        in_reply_to=new_id(),
        status="accepted",
        commitment="c" * 64,
    )
    event = event_from_header(header)
    assert event == TrackedEvent(
        message_id=header.message_id,
        thread_id=header.thread_id,
        kind=MessageKind.ACKNOWLEDGEMENT,
        sender=RECIPIENT,
        recipient=SENDER,
        issued_at=T0,
        urgency=None,
        respond_by=T0 + 2 * HOUR,
        in_reply_to=header.in_reply_to,
        status="accepted",
    )
    assert not event.opens_thread


def test_only_referrals_transfers_and_consent_withdrawals_open_a_thread() -> None:
    assert Thread(REFERRAL).original().opens_thread
    assert Thread(TRANSFER).original().opens_thread
    assert Thread(MessageKind.CONSENT).original().opens_thread
    granted = Thread(MessageKind.CONSENT).original()
    assert not replace(granted, status="granted").opens_thread
    assert not replace(granted, kind=MessageKind.ALERT).opens_thread


# --- transfer ----------------------------------------------------------------------------


def test_transfer_responsibility_moves_only_on_acceptance() -> None:
    thread = Thread(TRANSFER, None)
    sent = thread.original()
    received = thread.answer(sent, A.RECEIVED, T0 + MINUTE)
    accepted = thread.answer(sent, A.ACCEPTED, T0 + HOUR)
    assert thread_state(thread.thread_id, [sent]).responsibility == SENDER
    delivered = thread_state(thread.thread_id, [sent, received])
    assert (delivered.phase, delivered.responsibility) == (Phase.DELIVERED, SENDER)
    taken = thread_state(thread.thread_id, [sent, received, accepted])
    assert (taken.phase, taken.responsibility) == (Phase.ACCEPTED, RECIPIENT)


@pytest.mark.parametrize("status", [A.DECLINED, A.REDIRECTED, A.WITHDRAWN])
def test_transfer_not_taken_stays_with_the_sender(status: AckStatus) -> None:
    thread = Thread(TRANSFER, None)
    sent = thread.original()
    state = thread_state(thread.thread_id, [sent, thread.answer(sent, status, T0 + HOUR)])
    assert (state.phase, state.responsibility) == (Phase(status.value), SENDER)


def test_an_accepted_transfer_cannot_be_withdrawn() -> None:
    thread = Thread(TRANSFER, None)
    sent = thread.original()
    events = [
        sent,
        thread.answer(sent, A.ACCEPTED, T0 + 1),
        thread.answer(sent, A.WITHDRAWN, T0 + 2),
    ]
    state = thread_state(thread.thread_id, events)
    assert (state.phase, state.responsibility) == (Phase.ACCEPTED, RECIPIENT)


# --- consent withdrawal ------------------------------------------------------------------


def test_consent_withdrawal_is_acknowledged_when_every_recipient_acknowledged() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    agencies = ["school-a", "police-b", "clinic-c"]
    sent = [thread.original(recipient=agency) for agency in agencies]
    acks = [thread.answer(event, A.RECEIVED, T0 + 10 * (i + 1)) for i, event in enumerate(sent)]

    partial = thread_state(thread.thread_id, [*sent, *acks[:2]])
    assert partial.phase is Phase.PENDING
    assert partial.recipients == tuple(sorted(agencies))
    assert partial.acknowledged == {"school-a", "police-b"}
    assert partial.delivered_at is None
    assert fhir_status(partial.phase) is FhirTaskStatus.REQUESTED

    done = thread_state(thread.thread_id, [*sent, *acks])
    assert (done.phase, done.delivered_at, done.closed_at) == (Phase.ACKNOWLEDGED, T0 + 30, T0 + 30)
    assert fhir_status(done.phase) is FhirTaskStatus.COMPLETED


def test_a_consent_ack_counts_only_for_its_own_recipient() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    to_school = thread.original(recipient="school-a")
    to_police = thread.original(recipient="police-b")
    # The school answers the envelope addressed to the police: it proves nothing for either.
    wrong = thread.answer(to_police, A.RECEIVED, T0 + 1, by="school-a")
    state = thread_state(thread.thread_id, [to_school, to_police, wrong])
    assert state.acknowledged == frozenset()


def test_consent_granted_is_not_tracked() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    granted = replace(thread.original(), status="granted")
    assert thread_state(thread.thread_id, [granted]).phase is Phase.UNKNOWN


@pytest.mark.parametrize(
    ("phase", "fhir"),
    [
        (Phase.SENT, FhirTaskStatus.REQUESTED),
        (Phase.DELIVERED, FhirTaskStatus.RECEIVED),
        (Phase.ACCEPTED, FhirTaskStatus.ACCEPTED),
        (Phase.DECLINED, FhirTaskStatus.REJECTED),
        (Phase.REDIRECTED, FhirTaskStatus.REJECTED),
        (Phase.COMPLETED, FhirTaskStatus.COMPLETED),
        (Phase.WITHDRAWN, FhirTaskStatus.CANCELLED),
        (Phase.PENDING, FhirTaskStatus.REQUESTED),
        (Phase.ACKNOWLEDGED, FhirTaskStatus.COMPLETED),
        (Phase.UNKNOWN, None),
    ],
)
def test_fhir_status(phase: Phase, fhir: FhirTaskStatus | None) -> None:
    assert fhir_status(phase) is fhir
