"""Every single-bit change anywhere in an envelope is refused (exhaustive, X25519 suite)."""

from broker.envelope import EnvelopeError, open_envelope, seal, verify_header
from schemas.acknowledgement import Acknowledgement
from schemas.examples import ANSWERED_MESSAGE_ID, THREAD_ID
from schemas.kinds import AckStatus, MessageKind, Suite
from tests.unit.envelope.federation import NOW, Federation


def _small_envelope(fed: Federation) -> bytes:
    body = Acknowledgement(status=AckStatus.RECEIVED, answers=ANSWERED_MESSAGE_ID)
    return seal(
        body,
        kind=MessageKind.ACKNOWLEDGEMENT,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
    )


def test_every_bit_flip_is_refused(fed: Federation) -> None:
    raw = _small_envelope(fed)
    open_envelope(raw, keys=fed.health, directory=fed.directory, now=NOW)  # genuine: opens
    accepted = []
    reasons: set[str] = set()
    for index in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[index] ^= 1 << bit
            try:
                open_envelope(bytes(flipped), keys=fed.health, directory=fed.directory, now=NOW)
            except EnvelopeError as err:
                reasons.add(err.reason)
            else:
                accepted.append((index, bit))
    assert accepted == []
    # The flips reach many different checks, not just the JSON parser.
    assert {"malformed_envelope", "bad_signature", "non_canonical_encoding"} <= reasons


def test_every_bit_flip_is_refused_by_verify_header(fed: Federation) -> None:
    raw = _small_envelope(fed)
    accepted = []
    for index in range(len(raw)):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[index] ^= 1 << bit
            try:
                verify_header(bytes(flipped), directory=fed.directory, now=NOW)
            except EnvelopeError:
                continue
            accepted.append((index, bit))
    assert accepted == []
