"""What seal refuses before anything is encrypted."""

import pytest

from broker.envelope import (
    MAX_BODY_BYTES,
    AgencyKeys,
    BodySchemaError,
    EnvelopeTooLarge,
    KeyExpired,
    KeyRevoked,
    MalformedEnvelope,
    OutsideValidityWindow,
    UnknownKey,
    UnknownRecipient,
    UnknownSender,
    build_directory,
    revoke_key,
    seal,
    verify_directory,
)
from broker.envelope.seal import seal_json
from schemas.examples import THREAD_ID, example_body
from schemas.kinds import AgencyKind, MessageKind, Suite
from tests.unit.envelope.federation import NOW, Federation


def _seal(fed: Federation, **overrides: object) -> bytes:
    arguments: dict[str, object] = dict(
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
    )
    body = overrides.pop("body", example_body(MessageKind.REFERRAL))
    return seal(body, **(arguments | overrides))  # type: ignore[arg-type]


def test_body_of_another_kind(fed: Federation) -> None:
    with pytest.raises(BodySchemaError) as caught:
        _seal(fed, body=example_body(MessageKind.CONSENT))
    assert caught.value.sender == "police-north"
    assert caught.value.recipient == "health-east"


def test_unknown_recipient(fed: Federation) -> None:
    with pytest.raises(UnknownRecipient):
        _seal(fed, recipient="nobody-here")


def test_recipient_without_a_key_for_the_suite(fed: Federation) -> None:
    entry = fed.health.public_entry(AgencyKind.HEALTH, "Health East")
    no_x25519 = entry.model_copy(update={"keys": entry.keys[:2]})  # sig + ML-KEM only
    raw = build_directory(
        [fed.police.public_entry(AgencyKind.POLICE, "Police North"), no_x25519], fed.root, NOW
    )
    directory = verify_directory(raw, fed.root.public())
    _seal(fed, directory=directory, suite=Suite.MLKEM768_X25519)
    with pytest.raises(UnknownRecipient):
        _seal(fed, directory=directory, suite=Suite.X25519)


def test_sender_not_in_directory(fed: Federation) -> None:
    stranger = AgencyKeys.generate("ghost-agency", now=NOW)
    with pytest.raises(UnknownSender):
        _seal(fed, sender=stranger)


def test_sender_key_not_the_one_in_directory(fed: Federation) -> None:
    impostor = AgencyKeys.generate("police-north", now=NOW)
    with pytest.raises(UnknownKey):
        _seal(fed, sender=impostor)


def test_revoked_sender_cannot_seal(fed: Federation) -> None:
    raw = revoke_key(fed.raw_directory, fed.police.signing.kid, fed.root, NOW)
    with pytest.raises(KeyRevoked):
        _seal(fed, directory=verify_directory(raw, fed.root.public()))


def test_sender_key_not_yet_valid(fed: Federation) -> None:
    with pytest.raises(KeyExpired):
        _seal(fed, now=NOW - 1)


@pytest.mark.parametrize("ttl_s", [0, -5, 31 * 86400 + 1])
def test_ttl_out_of_range(fed: Federation, ttl_s: int) -> None:
    with pytest.raises(OutsideValidityWindow):
        _seal(fed, ttl_s=ttl_s)


def test_invalid_header_fields(fed: Federation) -> None:
    with pytest.raises(MalformedEnvelope) as caught:
        _seal(fed, thread_id="case-1234")  # thread ids are random UUIDs, never case numbers
    assert "thread_id" in str(caught.value)
    assert "case-1234" not in str(caught.value)


def test_sender_equal_to_recipient(fed: Federation) -> None:
    with pytest.raises((MalformedEnvelope, UnknownRecipient)):
        _seal(fed, recipient="police-north")


def test_body_too_large(fed: Federation) -> None:
    with pytest.raises(EnvelopeTooLarge):
        seal_json(
            b" " * (MAX_BODY_BYTES + 1),
            kind=MessageKind.REFERRAL,
            sender=fed.police,
            recipient="health-east",
            directory=fed.directory,
            now=NOW,
            thread_id=THREAD_ID,
        )


def test_largest_body_fits(fed: Federation) -> None:
    raw = seal_json(
        b" " * MAX_BODY_BYTES,
        kind=MessageKind.ALERT,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
    )
    assert len(raw) < 16 * 1024 * 1024
