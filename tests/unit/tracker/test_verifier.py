"""Header checks: the pure check, and the worker pool that runs it beside the event loop."""

import os
import signal

import pytest

from broker.envelope import DirectoryError, seal
from broker.tracker.events import TrackedEvent
from broker.tracker.verifier import HeaderVerifier, RefusedHeader, SignedDirectory, check_headers
from schemas.examples import example_body
from schemas.ids import new_thread_id
from schemas.kinds import MessageKind
from tests.unit.envelope.federation import NOW, Federation, make_federation


@pytest.fixture(scope="module")
def fed() -> Federation:
    return make_federation()


def referral(fed: Federation) -> bytes:
    return seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=new_thread_id(),
    )


def tampered(envelope: bytes) -> bytes:
    # Another letter of the base64url alphabet inside the signature: still canonical, so the
    # refusal is the signature's (flipping a bit could leave the alphabet: a parse error).
    changed = bytearray(envelope)
    changed[-10] = ord("B") if changed[-10] == ord("A") else ord("A")
    return bytes(changed)


def source(fed: Federation) -> SignedDirectory:
    return SignedDirectory(fed.raw_directory, fed.root.public().to_bytes())


def test_each_envelope_gets_its_event_or_its_refusal_in_order(fed: Federation) -> None:
    good, bad = referral(fed), tampered(referral(fed))
    checks = check_headers([good, bad, b"not an envelope"], fed.directory, NOW)
    assert isinstance(checks[0], TrackedEvent)
    assert checks[0].sender == "police-north"
    assert isinstance(checks[1], RefusedHeader)
    assert isinstance(checks[2], RefusedHeader)
    assert checks[2].reason == "malformed_envelope"


def test_a_refused_header_keeps_its_reason_and_claimed_ids(fed: Federation) -> None:
    [refused] = check_headers([tampered(referral(fed))], fed.directory, NOW)
    assert isinstance(refused, RefusedHeader)
    assert refused.reason == "bad_signature"
    assert refused.sender == "police-north"
    assert refused.message_id is not None


def test_a_directory_not_signed_by_the_root_is_refused_before_any_worker_starts(
    fed: Federation,
) -> None:
    other = make_federation()
    with pytest.raises(DirectoryError):
        HeaderVerifier(SignedDirectory(fed.raw_directory, other.root.public().to_bytes()))


async def test_the_workers_check_a_batch_as_check_headers_does(fed: Federation) -> None:
    envelopes = [referral(fed) for _ in range(5)] + [tampered(referral(fed))]
    verifier = HeaderVerifier(source(fed), workers=2)
    try:
        assert await verifier.check(envelopes, NOW) == check_headers(envelopes, fed.directory, NOW)
        assert await verifier.check([], NOW) == []
    finally:
        verifier.close()


async def test_a_killed_worker_is_replaced_and_the_batch_checked_again(fed: Federation) -> None:
    verifier = HeaderVerifier(source(fed))
    try:
        [first] = await verifier.check([referral(fed)], NOW)
        assert isinstance(first, TrackedEvent)
        killed = verifier.worker_pids()
        assert killed
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        [again] = await verifier.check([referral(fed)], NOW)
        assert isinstance(again, TrackedEvent)
        assert set(verifier.worker_pids()).isdisjoint(killed)
    finally:
        verifier.close()
