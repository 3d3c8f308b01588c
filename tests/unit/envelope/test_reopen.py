"""reopen_stored: a stored envelope opens again for its recipient, later, and only unchanged."""

import pytest

from broker.envelope import (
    MAX_TTL_S,
    DecryptionFailed,
    KeyRevoked,
    MalformedEnvelope,
    MessageExpired,
    NotForRecipient,
    UnknownKey,
    canonical_json,
    open_envelope,
    reopen_stored,
    revoke_key,
    verify_directory,
)
from broker.envelope.errors import evidence_of
from schemas.examples import example_body
from schemas.kinds import MessageKind, Urgency
from tests.unit.envelope.federation import NOW, Federation
from tests.unit.envelope.helpers import assemble, referral_envelope, split


def test_a_stored_envelope_reopens_to_the_body_received(fed: Federation) -> None:
    raw = referral_envelope(fed)
    received = open_envelope(raw, keys=fed.health, directory=fed.directory, now=NOW)
    again = reopen_stored(raw, keys=fed.health)
    assert again.header == received.header
    assert again.body == received.body == example_body(MessageKind.REFERRAL)


def test_it_reopens_long_after_the_validity_window(fed: Federation) -> None:
    raw = referral_envelope(fed)
    later = NOW + MAX_TTL_S + 365 * 86400
    with pytest.raises(MessageExpired):
        open_envelope(raw, keys=fed.health, directory=fed.directory, now=later)
    assert reopen_stored(raw, keys=fed.health).header.message_id == split(raw)[0]["message_id"]


def test_a_message_verified_at_receipt_stays_readable_after_its_sender_is_revoked(
    fed: Federation,
) -> None:
    raw = referral_envelope(fed)
    open_envelope(raw, keys=fed.health, directory=fed.directory, now=NOW)
    revoked = verify_directory(
        revoke_key(fed.directory, fed.police.signing.kid, fed.root, NOW + 60), fed.root.public()
    )
    with pytest.raises(KeyRevoked):
        open_envelope(raw, keys=fed.health, directory=revoked, now=NOW + 60)
    assert reopen_stored(raw, keys=fed.health).body == example_body(MessageKind.REFERRAL)


def test_a_changed_header_does_not_open(fed: Federation) -> None:
    # The AEAD is bound to the header bytes: a stored header edited in the database (here
    # the urgency, a clear field a reader would trust) makes decryption fail.
    header, ciphertext, signature = split(referral_envelope(fed))
    assert header["urgency"] != Urgency.LOW.value
    edited = assemble({**header, "urgency": Urgency.LOW.value}, ciphertext, signature)
    with pytest.raises(DecryptionFailed) as refused:
        reopen_stored(edited, keys=fed.health)
    assert refused.value.message_id == header["message_id"]
    assert refused.value.evidence == evidence_of(edited)


def test_a_changed_ciphertext_does_not_open(fed: Federation) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    with pytest.raises(DecryptionFailed):
        reopen_stored(assemble(header, flipped, signature), keys=fed.health)


def test_only_its_recipient_reopens_it(fed: Federation) -> None:
    raw = referral_envelope(fed)
    with pytest.raises(NotForRecipient):
        reopen_stored(raw, keys=fed.social)


def test_without_the_key_it_was_sealed_to_it_does_not_open(fed: Federation) -> None:
    # A rotation that dropped the old encryption key from the key file: the bodies sealed
    # to it are unreadable, and say so.
    header, ciphertext, signature = split(referral_envelope(fed))
    other = {**header, "recipient_kid": fed.health.signing.kid}
    with pytest.raises(UnknownKey):
        reopen_stored(assemble(other, ciphertext, signature), keys=fed.health)


def test_anything_but_an_envelope_is_refused(fed: Federation) -> None:
    with pytest.raises(MalformedEnvelope):
        reopen_stored(canonical_json({"narrative": "plain"}), keys=fed.health)
