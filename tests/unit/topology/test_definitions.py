"""Definitions generated from a directory: names, keys, arguments, and confinement regexes."""

import base64
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.topology.definition_checks import check_definitions
from broker.topology.definitions import (
    HASHING_ALGORITHM,
    TopologyError,
    agency_alert_key_pattern,
    agency_arrival_key_pattern,
    agency_message_key_pattern,
    agency_permission,
    build_definitions,
    hash_password,
    operator_permission,
    password_matches,
    tracker_permission,
)
from broker.topology.names import (
    AGENCY_QUEUE_MAX_BYTES,
    ALERTS_EXCHANGE,
    ALERTS_QUEUE,
    ARRIVALS_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    MESSAGES_EXCHANGE,
    NOTIFIER_ARRIVALS_QUEUE,
    NOTIFIER_QUEUE,
    TAP_LOST_EXCHANGE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_EXCHANGE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    QueueLimits,
    Topology,
    alert_routing_key,
    routing_key,
)
from schemas.alert import AlertLevel
from schemas.ids import AGENCY_ID_PATTERN
from schemas.kinds import MessageKind
from tests.unit.topology.directories import AGENCY_IDS, directory_of

LIMITS = QueueLimits(tap=7, tap_overflow=5, dead_letters=3)
TOPOLOGY = Topology(vhost="caselink-unit", user_prefix="unit-", limits=LIMITS)
USERS = TOPOLOGY.users(AGENCY_IDS)
PASSWORDS = {user: f"password-of-{user}" for user in USERS}
# Made by RabbitMQ 3.10.8 itself: `rabbitmqctl add_user` then `export_definitions`.
RABBITMQ_HASH = ("correct horse battery staple", "vOYsGthnbvR7sqWn6dhcSRWzVJBHZNApyvhY5eURt2M1aSDC")

agency_ids = st.from_regex(AGENCY_ID_PATTERN, fullmatch=True)


@pytest.fixture(scope="module")
def definitions() -> dict[str, Any]:
    return build_definitions(directory_of(AGENCY_IDS), PASSWORDS, TOPOLOGY)


def by(definitions: dict[str, Any], section: str, **match: str) -> list[dict[str, Any]]:
    return [e for e in definitions[section] if all(e[k] == v for k, v in match.items())]


def test_definitions_validate_structurally(definitions: dict[str, Any]) -> None:
    check_definitions(definitions)
    assert definitions["vhosts"] == [{"name": "caselink-unit"}]
    for section in ("permissions", "topic_permissions", "exchanges", "queues", "bindings"):
        assert {e["vhost"] for e in definitions[section]} == {"caselink-unit"}


def test_exchanges(definitions: dict[str, Any]) -> None:
    kinds = {
        e["name"]: (e["type"], e["durable"], e["auto_delete"]) for e in definitions["exchanges"]
    }
    assert kinds == {
        MESSAGES_EXCHANGE: ("topic", True, False),
        ALERTS_EXCHANGE: ("topic", True, False),
        ARRIVALS_EXCHANGE: ("topic", True, False),
        DEAD_LETTER_EXCHANGE: ("fanout", True, False),
        TAP_OVERFLOW_EXCHANGE: ("fanout", True, False),
        TAP_LOST_EXCHANGE: ("fanout", True, False),
    }


def test_one_bounded_quorum_queue_per_agency(definitions: dict[str, Any]) -> None:
    for agency_id in AGENCY_IDS:
        [queue] = by(definitions, "queues", name=f"agency.{agency_id}")
        assert queue["durable"] is True
        assert queue["arguments"] == {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            "x-max-length-bytes": AGENCY_QUEUE_MAX_BYTES,
        }


def test_tap_alerts_and_dead_letter_queues(definitions: dict[str, Any]) -> None:
    [tap] = by(definitions, "queues", name=TAP_QUEUE)
    assert tap["arguments"]["x-single-active-consumer"] is True
    assert tap["arguments"]["x-delivery-limit"] == DELIVERY_LIMIT
    [alerts] = by(definitions, "queues", name=ALERTS_QUEUE)
    assert alerts["arguments"]["x-queue-type"] == "quorum"
    [dead] = by(definitions, "queues", name=DEAD_LETTER_QUEUE)
    # The dead-letter queue must not dead-letter into itself, and is bounded without ever
    # dropping: a full one refuses, and at-least-once dead-lettering waits and retries.
    assert dead["arguments"] == {
        "x-queue-type": "quorum",
        "x-max-length": LIMITS.dead_letters,
        "x-max-length-bytes": AGENCY_QUEUE_MAX_BYTES,
        "x-overflow": "reject-publish",
    }
    [notifier] = by(definitions, "queues", name=NOTIFIER_QUEUE)
    # No delivery limit: the notifier hands an alert back while SMTP is down, however often.
    assert "x-delivery-limit" not in notifier["arguments"]
    assert notifier["arguments"]["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
    [arrivals] = by(definitions, "queues", name=NOTIFIER_ARRIVALS_QUEUE)
    assert arrivals["arguments"] == notifier["arguments"]
    assert len(definitions["queues"]) == len(AGENCY_IDS) + 7


def test_a_full_tap_drops_into_its_overflow_never_refuses_a_publish(
    definitions: dict[str, Any],
) -> None:
    # reject-publish on the tap would nack every publish on caselink.messages once the
    # tracker fell behind: the agencies' outboxes would stall behind the tracker.
    [tap] = by(definitions, "queues", name=TAP_QUEUE)
    [overflow] = by(definitions, "queues", name=TAP_OVERFLOW_QUEUE)
    [lost] = by(definitions, "queues", name=TAP_LOST_QUEUE)
    for queue, bound, onwards in (
        (tap, LIMITS.tap, TAP_OVERFLOW_EXCHANGE),
        (overflow, LIMITS.tap_overflow, TAP_LOST_EXCHANGE),
    ):
        arguments = queue["arguments"]
        assert arguments["x-overflow"] == "drop-head"
        assert arguments["x-max-length"] == bound
        assert arguments["x-dead-letter-exchange"] == onwards
        assert arguments["x-single-active-consumer"] is True
    assert lost["arguments"] == {
        "x-queue-type": "quorum",
        "x-max-length": 1,
        "x-overflow": "drop-head",
        "x-single-active-consumer": True,
    }
    for queue in definitions["queues"]:
        assert queue["arguments"].get("x-overflow") in ("drop-head", "reject-publish")
        if queue["arguments"].get("x-dead-letter-strategy") == "at-least-once":
            # RabbitMQ 3.10 falls back to at-most-once unless the queue rejects publishes.
            assert queue["arguments"]["x-overflow"] == "reject-publish"


def test_bindings(definitions: dict[str, Any]) -> None:
    edges = {(b["source"], b["destination"], b["routing_key"]) for b in definitions["bindings"]}
    assert edges == {
        *((MESSAGES_EXCHANGE, f"agency.{a}", f"*.*.{a}") for a in AGENCY_IDS),
        (MESSAGES_EXCHANGE, TAP_QUEUE, "#"),
        (TAP_OVERFLOW_EXCHANGE, TAP_OVERFLOW_QUEUE, ""),
        (TAP_LOST_EXCHANGE, TAP_LOST_QUEUE, ""),
        (ALERTS_EXCHANGE, ALERTS_QUEUE, "alert.#"),
        (ALERTS_EXCHANGE, NOTIFIER_QUEUE, "alert.#"),
        (ARRIVALS_EXCHANGE, NOTIFIER_ARRIVALS_QUEUE, "arrival.#"),
        (DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, ""),
    }


def test_users_carry_hashes_never_passwords(definitions: dict[str, Any]) -> None:
    assert [u["name"] for u in definitions["users"]] == USERS
    for user in definitions["users"]:
        assert user["hashing_algorithm"] == HASHING_ALGORITHM
        # Only the operator may publish with another user's user_id (see operator_permission).
        assert user["tags"] == (["impersonator"] if user["name"] == "unit-dlq-operator" else [])
        assert password_matches(user["password_hash"], PASSWORDS[user["name"]])
    assert not any(password in repr(definitions) for password in PASSWORDS.values())


def test_missing_password_is_refused() -> None:
    with pytest.raises(TopologyError, match="no password for RabbitMQ users: unit-notifier"):
        build_definitions(directory_of(AGENCY_IDS), {u: "x" for u in USERS[:-1]}, TOPOLOGY)


@pytest.mark.parametrize("agency_id", ["tracker", "dlq-operator", "notifier"])
def test_an_agency_named_like_a_service_user_is_refused(agency_id: str) -> None:
    # It would be given the service user's name, and so its grants.
    with pytest.raises(TopologyError, match=f"agency id {agency_id} is the name of"):
        build_definitions(directory_of([*AGENCY_IDS, agency_id]), PASSWORDS, TOPOLOGY)


def test_agency_permissions(definitions: dict[str, Any]) -> None:
    [granted] = by(definitions, "permissions", user="unit-oscc-north")
    assert granted["configure"] == "^$"
    assert granted["read"] == r"^agency\.oscc\-north$"
    for exchange in (MESSAGES_EXCHANGE, ALERTS_EXCHANGE, ARRIVALS_EXCHANGE):
        assert re.fullmatch(granted["write"], exchange)
    # Not the dead-letter exchange: only RabbitMQ's own dead-lettering writes there.
    for other in (
        "",
        "amq.topic",
        "amq.default",
        "caselink.messagesX",
        "caselink-messages",
        DEAD_LETTER_EXCHANGE,
        TAP_OVERFLOW_EXCHANGE,
        TAP_LOST_EXCHANGE,
    ):
        assert not re.search(granted["write"], other)
    assert not re.search(granted["read"], "agency.oscc-north-2")


def test_agency_topic_permissions(definitions: dict[str, Any]) -> None:
    topics = {
        t["exchange"]: t for t in by(definitions, "topic_permissions", user="unit-oscc-north")
    }
    assert set(topics) == {MESSAGES_EXCHANGE, ALERTS_EXCHANGE, ARRIVALS_EXCHANGE}
    assert topics[MESSAGES_EXCHANGE]["write"] == agency_message_key_pattern("oscc-north")
    assert topics[ALERTS_EXCHANGE]["write"] == agency_alert_key_pattern("oscc-north")
    assert topics[ARRIVALS_EXCHANGE]["write"] == agency_arrival_key_pattern("oscc-north")
    # Its own arrivals only: an event naming another agency as the recipient is refused.
    own = topics[ARRIVALS_EXCHANGE]["write"]
    assert re.fullmatch(own, "arrival.referral.oscc-north")
    for key in ("arrival.referral.social-east", "arrival.referral.oscc-north-2", "alert.x.y"):
        assert not re.fullmatch(own, key)
    assert {t["read"] for t in topics.values()} == {"^$"}


def test_tracker_permissions(definitions: dict[str, Any]) -> None:
    [granted] = by(definitions, "permissions", user="unit-tracker")
    assert (granted["configure"], granted["write"], granted["read"]) == (
        "^$",
        r"^caselink\.alerts$",
        r"^(caselink\.tracker\-tap|caselink\.tracker\-tap\-overflow|caselink\.tracker\-tap\-lost)$",
    )
    [topic] = by(definitions, "topic_permissions", user="unit-tracker")
    assert (topic["exchange"], topic["write"], topic["read"]) == (
        ALERTS_EXCHANGE,
        r"^alert\..*",
        "^$",
    )
    assert tracker_permission().write == granted["write"]


def test_notifier_permissions(definitions: dict[str, Any]) -> None:
    [granted] = by(definitions, "permissions", user="unit-notifier")
    assert (granted["configure"], granted["write"], granted["read"]) == (
        "^$",
        "^$",
        r"^(caselink\.notifier|caselink\.notifier\-arrivals)$",
    )
    assert by(definitions, "topic_permissions", user="unit-notifier") == []
    for queue in (TAP_QUEUE, ALERTS_QUEUE, DEAD_LETTER_QUEUE, "agency.oscc-north"):
        assert not re.search(granted["read"], queue)


def test_operator_permissions(definitions: dict[str, Any]) -> None:
    [granted] = by(definitions, "permissions", user="unit-dlq-operator")
    assert (granted["configure"], granted["write"], granted["read"]) == (
        "^$",
        r"^amq\.default$",
        r"^caselink\.dead\-letters$",
    )
    assert operator_permission().read == granted["read"]
    assert by(definitions, "topic_permissions", user="unit-dlq-operator") == []
    for exchange in (MESSAGES_EXCHANGE, ALERTS_EXCHANGE, DEAD_LETTER_EXCHANGE, ""):
        assert not re.search(granted["write"], exchange)
    for queue in (TAP_QUEUE, ALERTS_QUEUE, "agency.oscc-north"):
        assert not re.search(granted["read"], queue)


@given(sender=agency_ids, other=agency_ids, recipient=agency_ids, kind=st.sampled_from(MessageKind))
def test_an_agency_may_publish_only_as_itself(
    sender: str, other: str, recipient: str, kind: MessageKind
) -> None:
    own = agency_message_key_pattern(sender)
    assert re.search(own, routing_key(kind, sender, recipient))
    if other != sender:
        assert not re.search(own, routing_key(kind, other, recipient))
        assert not re.search(
            agency_message_key_pattern(other), routing_key(kind, sender, recipient)
        )


@given(agency=agency_ids, other=agency_ids, level=st.sampled_from(AlertLevel))
def test_an_agency_may_raise_alerts_only_about_itself(
    agency: str, other: str, level: AlertLevel
) -> None:
    own = agency_alert_key_pattern(agency)
    assert re.search(own, alert_routing_key(level, agency))
    if other != agency:
        assert not re.search(own, alert_routing_key(level, other))


@pytest.mark.parametrize(
    "key",
    [
        "referral.oscc-north.b.c",
        "referral.oscc-north",
        "referral.oscc-north-2.b",
        "referral.north.b",
        ".oscc-north.b",
        "referral.oscc-north.",
        "Referral.oscc-north.b",
        "referral.social-east.oscc-north",
    ],
)
def test_near_misses_are_not_the_agency_s_keys(key: str) -> None:
    assert not re.search(agency_message_key_pattern("oscc-north"), key)


def test_a_trailing_newline_still_pins_the_sender() -> None:
    # `$` also matches before a final newline, in Python and in RabbitMQ's PCRE alike. Such
    # a key still names the agency itself as sender, and binds to no agency's queue.
    pattern = agency_message_key_pattern("oscc-north")
    assert re.search(pattern, "referral.oscc-north.b\n")
    assert not re.search(pattern, "referral.social-east.b\n")


def test_read_and_write_regexes_escape_names() -> None:
    permission = agency_permission(Topology(), "a-b")
    # An unescaped dot would let agency `a-b` read a queue named `agencyXa-b`.
    assert not re.search(permission.read, "agencyXa-b")
    assert re.search(permission.read, "agency.a-b")


def test_hash_matches_rabbitmq() -> None:
    password, made_by_rabbitmq = RABBITMQ_HASH
    assert password_matches(made_by_rabbitmq, password)
    assert not password_matches(made_by_rabbitmq, password + " ")
    salt = base64.b64decode(made_by_rabbitmq)[:4]
    assert hash_password(password, salt) == made_by_rabbitmq


def test_hash_draws_a_fresh_salt() -> None:
    assert hash_password("same") != hash_password("same")
    assert not password_matches("not base64!", "same")
    assert not password_matches("", "same")
    assert not password_matches(hash_password("same")[:-4], "same")
    with pytest.raises(ValueError, match="4 bytes"):
        hash_password("x", b"12345")
