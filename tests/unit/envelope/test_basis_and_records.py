"""The header's `basis` (a sharing without consent, for the tracker) and records sealed to
the agency's own key (its consent register)."""

from datetime import date

import pytest

from broker.envelope import (
    BodySchemaError,
    DecryptionFailed,
    HeaderBodyMismatch,
    MalformedEnvelope,
    UnknownKey,
    open_envelope,
    open_record,
    seal,
    seal_record,
)
from broker.envelope.codec import decode_envelope
from broker.envelope.seal import seal_json
from schemas.acknowledgement import Acknowledgement
from schemas.consent import Consent
from schemas.examples import CONSENT_ID, THREAD_ID, example_body
from schemas.header import EnvelopeHeader
from schemas.kinds import LawfulBasis, MessageKind, Suite
from schemas.referral import Referral
from tests.unit.envelope.federation import NOW, Federation

BASIS = LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM


def without_consent() -> Referral:
    body = example_body(MessageKind.REFERRAL)
    return Referral.model_validate(
        body.model_dump()
        | {
            "consent_ref": None,
            "lawful_basis": BASIS,
            "justification": "Injuries seen tonight.",
            "authorised_by": {"name": "Test Supervisor", "role": "Duty manager"},
        }
    )


def sealed(fed: Federation, body: Referral) -> bytes:
    return seal(
        body,
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
    )


def test_the_header_carries_the_basis_of_a_sharing_without_consent_only(fed: Federation) -> None:
    flagged = sealed(fed, without_consent())
    assert decode_envelope(flagged).header.basis is BASIS
    assert b'{"basis":"child_protection_significant_harm","commitment"' in flagged
    opened = open_envelope(flagged, keys=fed.health, directory=fed.directory, now=NOW)
    assert opened.header.basis is BASIS
    cited = sealed(fed, example_body(MessageKind.REFERRAL))  # type: ignore[arg-type]
    assert decode_envelope(cited).header.basis is None
    assert b'"basis"' not in cited  # omitted when None: earlier envelopes stay valid


def test_a_header_that_hides_the_basis_is_refused(fed: Federation) -> None:
    # A sender that leaves the basis out of the header hides the sharing from the tracker.
    hidden = seal_json(
        without_consent().model_dump_json().encode(),
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
        urgency=without_consent().urgency,
    )
    with pytest.raises(HeaderBodyMismatch, match="basis"):
        open_envelope(hidden, keys=fed.health, directory=fed.directory, now=NOW)


def test_only_referrals_and_transfers_carry_a_basis() -> None:
    header = {
        "suite": Suite.X25519,
        "message_id": CONSENT_ID,
        "thread_id": THREAD_ID,
        "kind": MessageKind.ACKNOWLEDGEMENT,
        "sender": "police-north",
        "recipient": "health-east",
        "sender_kid": "0" * 64,
        "recipient_kid": "1" * 64,
        "issued_at": 1,
        "expires_at": 2,
        "in_reply_to": THREAD_ID,
        "status": "received",
        "commitment": "2" * 64,
    }
    EnvelopeHeader(**header)
    with pytest.raises(ValueError, match="basis"):
        EnvelopeHeader(**header, basis=BASIS)


def test_a_record_opens_only_with_our_key_for_its_own_id_and_kind(fed: Federation) -> None:
    consent = example_body(MessageKind.CONSENT)
    assert isinstance(consent, Consent)
    record = seal_record(consent, kind="consent", record_id=CONSENT_ID, keys=fed.health)
    assert b"Test" not in record
    assert b"Parent" not in record
    assert open_record(record, Consent, kind="consent", record_id=CONSENT_ID, keys=fed.health) == (
        consent
    )
    with pytest.raises(UnknownKey):
        open_record(record, Consent, kind="consent", record_id=CONSENT_ID, keys=fed.police)
    with pytest.raises(DecryptionFailed):  # moved to another row
        open_record(record, Consent, kind="consent", record_id=THREAD_ID, keys=fed.health)
    with pytest.raises(DecryptionFailed):  # read as another kind
        open_record(record, Consent, kind="referral", record_id=CONSENT_ID, keys=fed.health)
    altered = record[:-1] + bytes([record[-1] ^ 1])
    with pytest.raises(DecryptionFailed):
        open_record(altered, Consent, kind="consent", record_id=CONSENT_ID, keys=fed.health)
    with pytest.raises(MalformedEnvelope):
        open_record(b"not sealed", Consent, kind="consent", record_id=CONSENT_ID, keys=fed.health)
    ack = seal_record(
        Acknowledgement.model_validate(example_body(MessageKind.ACKNOWLEDGEMENT).model_dump()),
        kind="consent",
        record_id=CONSENT_ID,
        keys=fed.health,
    )
    with pytest.raises(BodySchemaError):
        open_record(ack, Consent, kind="consent", record_id=CONSENT_ID, keys=fed.health)
    assert consent.valid_until > date(2026, 12, 31)  # the example stays in date for the README
