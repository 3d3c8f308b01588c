"""The registry maps every kind to its model; the header helpers agree with the header rules."""

import pytest
from pydantic import BaseModel

from schemas.bodies import (
    BODY_MODELS,
    body_model,
    header_in_reply_to,
    header_status,
    header_urgency,
)
from schemas.examples import ANSWERED_MESSAGE_ID, example_body
from schemas.header import EnvelopeHeader
from schemas.kinds import MessageKind, Suite, Urgency


def test_every_kind_has_a_body_model() -> None:
    assert set(BODY_MODELS) == set(MessageKind)
    assert len(set(BODY_MODELS.values())) == len(MessageKind)


def test_unknown_kind_raises_key_error() -> None:
    with pytest.raises(KeyError):
        body_model("gossip")  # type: ignore[arg-type]


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        BODY_MODELS[MessageKind.ALERT] = BaseModel  # type: ignore[index]


def test_header_helpers_read_the_body() -> None:
    assert header_urgency(MessageKind.REFERRAL, example_body(MessageKind.REFERRAL)) is Urgency.HIGH
    assert header_status(MessageKind.CONSENT, example_body(MessageKind.CONSENT)) == "granted"
    ack = example_body(MessageKind.ACKNOWLEDGEMENT)
    assert header_status(MessageKind.ACKNOWLEDGEMENT, ack) == "completed"
    assert header_in_reply_to(MessageKind.ACKNOWLEDGEMENT, ack) == ANSWERED_MESSAGE_ID
    transfer = example_body(MessageKind.TRANSFER)
    assert header_status(MessageKind.TRANSFER, transfer) is None
    assert header_urgency(MessageKind.TRANSFER, transfer) is None
    assert header_in_reply_to(MessageKind.TRANSFER, transfer) is None


@pytest.mark.parametrize("helper", [header_status, header_urgency, header_in_reply_to])
def test_header_helpers_refuse_a_body_of_another_kind(helper: object) -> None:
    referral = example_body(MessageKind.REFERRAL)
    with pytest.raises(TypeError, match="consent"):
        helper(MessageKind.CONSENT, referral)  # type: ignore[operator]


@pytest.mark.parametrize("kind", list(MessageKind))
def test_a_header_built_from_the_helpers_validates(kind: MessageKind) -> None:
    body = example_body(kind)
    EnvelopeHeader(
        suite=Suite.X25519,
        message_id="00000000-0000-4000-8000-0000000000aa",
        thread_id="00000000-0000-4000-8000-0000000000bb",
        kind=kind,
        sender="test-school",
        recipient="test-social",
        sender_kid="a" * 64,
        recipient_kid="b" * 64,
        issued_at=1_000,
        expires_at=2_000,
        urgency=header_urgency(kind, body),
        in_reply_to=header_in_reply_to(kind, body),
        status=header_status(kind, body),  # type: ignore[arg-type]
        commitment="c" * 64,
    )
