"""What `caselink dlq` makes of one dead letter, and which letters a name selects (pure)."""

import hashlib
import time
from typing import Any

import pytest

from broker.operator.dead_letter_view import (
    UNCHECKED,
    VALID,
    death_of,
    describe,
    matches,
    requeue_refusal,
    select,
)
from schemas.ids import new_message_id
from tests.memory_federation import MemoryFederation, memory_federation

A, B = "oscc-north", "social-east"
NOW = int(time.time())


@pytest.fixture(scope="module")
def fed() -> MemoryFederation:
    return memory_federation()


def rejected_from(queue: str) -> dict[str, Any]:
    return {"x-death": [{"queue": queue, "reason": "rejected", "count": 1}]}


def tampered(envelope: bytes) -> bytes:
    raw = bytearray(envelope)
    at = raw.index(b'"ciphertext":"') + 50
    raw[at] = ord("A") if raw[at] != ord("A") else ord("B")
    return bytes(raw)


def test_a_valid_envelope_is_listed_under_its_signed_message_id(fed: MemoryFederation) -> None:
    message_id = new_message_id()
    body = fed.seal(A, B, message_id=message_id)
    letter = describe(
        body,
        user_id="oscc-north",
        headers=rejected_from("agency.social-east"),
        directory=fed.trusted,
        now=NOW,
    )
    assert (letter.message_id, letter.signature, letter.expired) == (message_id, VALID, False)
    assert (letter.sender, letter.recipient, letter.kind) == (A, B, "referral")
    assert (letter.queue, letter.reason, letter.published_by) == (
        "agency.social-east",
        "rejected",
        "oscc-north",
    )
    assert letter.sha256 == hashlib.sha256(body).hexdigest()
    assert "ciphertext" not in repr(letter.as_dict())
    assert matches(letter, message_id)
    assert matches(letter, letter.sha256.upper())


def test_a_forged_header_names_nothing_by_its_message_id(fed: MemoryFederation) -> None:
    message_id = new_message_id()
    body = tampered(fed.seal(A, B, message_id=message_id))
    letter = describe(body, user_id=None, headers={}, directory=fed.trusted, now=NOW)
    assert (letter.message_id, letter.signature) == (message_id, "bad_signature")
    # Whoever wrote it could have copied a real message's id: only its digest names it.
    assert not matches(letter, message_id)
    assert matches(letter, letter.sha256)


def test_without_a_directory_nothing_is_verified(fed: MemoryFederation) -> None:
    message_id = new_message_id()
    letter = describe(
        fed.seal(A, B, message_id=message_id), user_id=None, headers={}, directory=None, now=NOW
    )
    assert letter.signature == UNCHECKED
    assert not matches(letter, message_id)


def test_an_expired_envelope_is_still_authentic_but_marked(fed: MemoryFederation) -> None:
    letter = describe(
        fed.seal(A, B), user_id=None, headers={}, directory=fed.trusted, now=NOW + 90 * 86400
    )
    assert (letter.signature, letter.expired) == (VALID, True)


def test_garbage_is_described_by_its_digest_only(fed: MemoryFederation) -> None:
    letter = describe(b"\x1b[2Jnot json", user_id=None, headers={}, directory=fed.trusted, now=NOW)
    assert (letter.message_id, letter.signature, letter.sender) == (
        None,
        "malformed_envelope",
        None,
    )


def test_only_rabbitmq_s_latest_death_entry_is_trusted() -> None:
    # RabbitMQ 3.10 puts its own entry first and keeps a publisher's behind it; when they
    # share queue and reason it updates the publisher's entry in place (count, routing keys
    # and exchange stay forged), and it never overwrites x-first-death-* headers.
    headers = {
        "x-death": [
            {"queue": "agency.social-east", "reason": "rejected", "routing-keys": ["forged"]},
            {"queue": "agency.police-west", "reason": "rejected"},
        ],
        "x-first-death-queue": "agency.police-west",
    }
    assert death_of(headers) == ("agency.social-east", "rejected")
    assert death_of({}) == (None, "not_dead_lettered")
    assert death_of({"x-death": "junk"}) == (None, "not_dead_lettered")


def test_header_values_are_shown_escaped(fed: MemoryFederation) -> None:
    headers = {"x-note\x1b]0;t\x07": "\x1b[31mred\u202e", **rejected_from("agency.social-east")}
    letter = describe(fed.seal(A, B), user_id=None, headers=headers, directory=None, now=NOW)
    assert letter.headers["x-note\\x1b]0;t\\x07"] == "\\x1b[31mred\\u202e"
    assert all(name.isprintable() and value.isprintable() for name, value in letter.headers.items())


def test_requeue_needs_rabbitmq_s_record_of_the_queue(fed: MemoryFederation) -> None:
    body = fed.seal(A, B)
    unrecorded = describe(body, user_id=None, headers={}, directory=fed.trusted, now=NOW)
    assert requeue_refusal(unrecorded) is not None
    recorded = describe(
        body,
        user_id=None,
        headers=rejected_from("agency.social-east"),
        directory=fed.trusted,
        now=NOW,
    )
    assert requeue_refusal(recorded) is None


def test_all_selects_verified_unexpired_requeueable_letters(fed: MemoryFederation) -> None:
    died = rejected_from("agency.social-east")
    good = describe(fed.seal(A, B), user_id=None, headers=died, directory=fed.trusted, now=NOW)
    forged = describe(
        tampered(fed.seal(A, B)), user_id=None, headers=died, directory=fed.trusted, now=NOW
    )
    old = describe(
        fed.seal(A, B), user_id=None, headers=died, directory=fed.trusted, now=NOW + 90 * 86400
    )
    assert select([good, forged, old], None) == ([good], [])
    assert select([good, forged], [forged.sha256, "nope"]) == ([forged], ["nope"])
