"""Seal then open gives back the same body, for every kind, both suites, generated bodies."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from broker.envelope import open_envelope, seal, verify_header
from broker.envelope.codec import decode_envelope
from schemas.bodies import header_in_reply_to, header_status, header_urgency
from schemas.examples import THREAD_ID, example_body
from schemas.kinds import MessageKind, Suite
from tests.strategies import body_strategy
from tests.unit.envelope.federation import NOW, Federation

SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _round_trip(fed: Federation, kind: MessageKind, body: BaseModel, suite: Suite) -> None:
    raw = seal(
        body,
        kind=kind,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        respond_by=NOW + 3600,
        suite=suite,
    )
    opened = open_envelope(raw, keys=fed.health, directory=fed.directory, now=NOW)
    assert opened.body == body
    assert type(opened.body) is type(body)
    header = opened.header
    assert header == verify_header(raw, directory=fed.directory, now=NOW)
    assert (header.kind, header.suite, header.sender, header.recipient) == (
        kind,
        suite,
        "police-north",
        "health-east",
    )
    assert header.sender_kid == fed.police.signing.kid
    assert header.recipient_kid == fed.health.encryption[suite].kid
    assert header.urgency == header_urgency(kind, body)
    assert header.status == header_status(kind, body)
    assert header.in_reply_to == header_in_reply_to(kind, body)
    assert (header.issued_at, header.expires_at, header.respond_by) == (
        NOW,
        NOW + 14 * 86400,
        NOW + 3600,
    )


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("kind", list(MessageKind))
def test_generated_bodies_round_trip(fed: Federation, kind: MessageKind, suite: Suite) -> None:
    @SETTINGS
    @given(body=body_strategy(kind))
    def check(body: BaseModel) -> None:
        _round_trip(fed, kind, body, suite)

    check()


@pytest.mark.parametrize("suite", list(Suite))
@pytest.mark.parametrize("kind", list(MessageKind))
def test_example_bodies_round_trip(fed: Federation, kind: MessageKind, suite: Suite) -> None:
    _round_trip(fed, kind, example_body(kind), suite)


def test_header_carries_no_body_content(fed: Federation) -> None:
    body = example_body(MessageKind.REFERRAL)
    raw = seal(
        body,
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
    )
    header_text = json.dumps(json.loads(raw)["header"])
    for secret in ("Test", "Child", "Sampletown", "2015-06-01"):
        assert secret not in header_text
    assert b"Sampletown" not in raw  # and the body is not in the clear anywhere


def test_message_ids_are_fresh_unless_given(fed: Federation) -> None:
    body = example_body(MessageKind.ALERT)
    common = dict(
        kind=MessageKind.ALERT,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        suite=Suite.X25519,
    )
    first = decode_envelope(seal(body, **common)).header.message_id  # type: ignore[arg-type]
    second = decode_envelope(seal(body, **common)).header.message_id  # type: ignore[arg-type]
    assert first != second
    fixed = "00000000-0000-4000-8000-0000000000aa"
    given_id = seal(body, message_id=fixed, **common)  # type: ignore[arg-type]
    assert decode_envelope(given_id).header.message_id == fixed


def test_sealing_twice_gives_different_bytes(fed: Federation) -> None:
    # Fresh salt and fresh HPKE ephemeral key: equal bodies are not linkable on the wire.
    body = example_body(MessageKind.ALERT)
    kwargs = dict(
        kind=MessageKind.ALERT,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=NOW,
        thread_id=THREAD_ID,
        message_id="00000000-0000-4000-8000-0000000000aa",
        suite=Suite.X25519,
    )
    one, two = seal(body, **kwargs), seal(body, **kwargs)  # type: ignore[arg-type]
    assert one != two
    assert decode_envelope(one).header.commitment != decode_envelope(two).header.commitment
