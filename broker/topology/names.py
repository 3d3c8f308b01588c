"""Every RabbitMQ name Caselink uses, as pure functions: one place to read the topology.

Routing keys are `<kind>.<sender>.<recipient>`: agency ids are public slugs, so nothing
personal ever reaches a routing key. A `Topology` value carries the vhost, a user-name
prefix and the queue bounds, so tests can run in their own vhost with their own users.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.kinds import MessageKind

DEFAULT_VHOST = "caselink"
MESSAGES_EXCHANGE = "caselink.messages"
ALERTS_EXCHANGE = "caselink.alerts"
# Arrival events: a gateway says it stored a referral or transfer in its inbox (ids only,
# schemas/arrival.py), so the notifier can email the recipient's duty address at once.
ARRIVALS_EXCHANGE = "caselink.arrivals"
DEAD_LETTER_EXCHANGE = "caselink.dead-letter"
DEAD_LETTER_QUEUE = "caselink.dead-letters"
TAP_QUEUE = "caselink.tracker-tap"
# What the tap drops (it is full: drop-head) or gives up on (delivery limit) goes to the
# overflow queue, which the tracker drains too; what the overflow drops in turn goes to the
# lost queue, which keeps only the latest: a message there means the tracker missed some.
TAP_OVERFLOW_EXCHANGE = "caselink.tap-overflow"
TAP_OVERFLOW_QUEUE = "caselink.tracker-tap-overflow"
TAP_LOST_EXCHANGE = "caselink.tap-lost"
TAP_LOST_QUEUE = "caselink.tracker-tap-lost"
ALERTS_QUEUE = "caselink.alerts"
# The notifier's own copy of every alert, which it turns into email (broker/notifier/).
NOTIFIER_QUEUE = "caselink.notifier"
# The notifier's copy of every arrival event: a queue of its own, so an alert and an event
# are never told apart by guessing, and each has its own channel in the AsyncAPI document.
NOTIFIER_ARRIVALS_QUEUE = "caselink.notifier-arrivals"
TRACKER_USER = "tracker"
# The notifier's user: reads its own two queues, nothing else.
NOTIFIER_USER = "notifier"
# The operator's user of `caselink dlq`: reads the dead-letter queue, republishes to a queue
# by name (the default exchange) as the original sender (RabbitMQ's impersonator tag).
OPERATOR_USER = "dlq-operator"
SERVICE_USERS = (TRACKER_USER, OPERATOR_USER, NOTIFIER_USER)

# A message that fails this many deliveries is poison: dead-lettered, not retried forever.
DELIVERY_LIMIT = 5
# Bound each agency queue so a flood cannot exhaust the node; publishers get a nack, not a drop.
AGENCY_QUEUE_MAX_BYTES = 2 * 1024**3
# The lost queue keeps the latest message the tracker missed, as evidence, and nothing more.
TAP_LOST_MAX_LENGTH = 1
# `caselink dlq check` warns from this share of the dead-letter queue's bound.
DEAD_LETTER_NEAR_FULL = 0.8

# Content types on the wire: a sealed envelope (docs/envelope.md), or an alert's JSON.
ENVELOPE_CONTENT_TYPE = "application/caselink-envelope+json"
ALERT_CONTENT_TYPE = "application/json"
ARRIVAL_CONTENT_TYPE = "application/json"


def routing_key(kind: MessageKind | str, sender: str, recipient: str) -> str:
    """`<kind>.<sender>.<recipient>` for the messages exchange."""
    return f"{MessageKind(kind).value}.{sender}.{recipient}"


def agency_binding_key(agency_id: str) -> str:
    """Binding of an agency's queue: every kind, from any sender, to this agency."""
    return f"*.*.{agency_id}"


TAP_BINDING_KEY = "#"
# Everything on the alerts exchange reaches the alerts queue (coordinators, tests).
ALERTS_BINDING_KEY = "alert.#"
# The notifier takes every alert too and decides which make an email (broker/notifier/rules.py).
NOTIFIER_BINDING_KEY = "alert.#"
# The notifier takes every arrival event (broker/notifier/rules.py: the recipient's duty).
ARRIVALS_BINDING_KEY = "arrival.#"
# The dead-letter exchange is a fanout: the binding key is ignored, so it is empty.
DEAD_LETTER_BINDING_KEY = ""


def alert_routing_key(level: str, agency_id: str) -> str:
    """`alert.<level>.<agency>` on the alerts exchange."""
    return f"alert.{level}.{agency_id}"


def arrival_routing_key(kind: MessageKind | str, recipient: str) -> str:
    """`arrival.<kind>.<recipient>` on the arrivals exchange: the recipient is the agency
    whose gateway stored the message and publishes the event, and topic permissions let
    each agency publish only keys that end in its own id."""
    return f"arrival.{MessageKind(kind).value}.{recipient}"


@dataclass(frozen=True)
class QueueLimits:
    """How many messages the tracker's tap, its overflow and the dead-letter queue keep.

    The defaults are the federation's; tests apply tiny ones in a vhost of their own. Each
    queue is also bounded at AGENCY_QUEUE_MAX_BYTES, so a flood of large envelopes cannot
    exhaust the node before the count is reached.
    """

    tap: int = 1_000_000
    tap_overflow: int = 200_000
    dead_letters: int = 10_000


@dataclass(frozen=True)
class Topology:
    """Where a federation lives on the broker: its vhost, user-name prefix and queue bounds."""

    vhost: str = DEFAULT_VHOST
    user_prefix: str = ""
    limits: QueueLimits = QueueLimits()

    def agency_queue(self, agency_id: str) -> str:
        """The agency's own inbox queue: it alone may read it."""
        return f"agency.{agency_id}"

    def agency_user(self, agency_id: str) -> str:
        """The RabbitMQ user of an agency; the `user_id` property of its messages."""
        return f"{self.user_prefix}{agency_id}"

    def tracker_user(self) -> str:
        """The tracker's RabbitMQ user: reads the tap queue, writes alerts."""
        return f"{self.user_prefix}{TRACKER_USER}"

    def operator_user(self) -> str:
        """The dead-letter operator's RabbitMQ user (`caselink dlq`)."""
        return f"{self.user_prefix}{OPERATOR_USER}"

    def notifier_user(self) -> str:
        """The notifier's RabbitMQ user (`caselink notifier`): reads its own queues only."""
        return f"{self.user_prefix}{NOTIFIER_USER}"

    def users(self, agency_ids: Iterable[str]) -> list[str]:
        """Every RabbitMQ user of a federation: one per agency, and the service users."""
        return [
            *(self.agency_user(agency_id) for agency_id in agency_ids),
            self.tracker_user(),
            self.operator_user(),
            self.notifier_user(),
        ]


def quorum_queue_arguments(*, max_bytes: int | None = None) -> dict[str, Any]:
    """Arguments of every durable queue that dead-letters: quorum, limited, at-least-once DLX."""
    arguments: dict[str, Any] = {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        # at-least-once dead-lettering needs reject-publish overflow: nothing dropped silently.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }
    if max_bytes is not None:
        arguments["x-max-length-bytes"] = max_bytes
    return arguments


def _dropping_queue_arguments(max_length: int, dead_letter_exchange: str) -> dict[str, Any]:
    # drop-head: a full queue drops its oldest message, never refuses a publish. A refused
    # publish would nack the whole publish on caselink.messages (every queue it routes to
    # must accept it), and the agencies' outboxes would retry until the tracker caught up.
    # RabbitMQ 3.10 dead-letters what drop-head drops (reason maxlen) at most once: with
    # drop-head, at-least-once is not available.
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-max-length": max_length,
        "x-max-length-bytes": AGENCY_QUEUE_MAX_BYTES,
        "x-overflow": "drop-head",
        "x-dead-letter-exchange": dead_letter_exchange,
        "x-dead-letter-strategy": "at-most-once",
        "x-single-active-consumer": True,
    }


def tap_queue_arguments(limits: QueueLimits) -> dict[str, Any]:
    """The tracker's tap: never refuses a publish; what it drops or gives up on overflows.

    Single active consumer, so a standby tracker can take over.
    """
    return _dropping_queue_arguments(limits.tap, TAP_OVERFLOW_EXCHANGE)


def tap_overflow_queue_arguments(limits: QueueLimits) -> dict[str, Any]:
    """The tap's overflow, drained by the tracker as well; what it drops goes to the lost queue."""
    return _dropping_queue_arguments(limits.tap_overflow, TAP_LOST_EXCHANGE)


def tap_lost_queue_arguments() -> dict[str, Any]:
    """The latest message the tracker missed, kept as evidence for the gap alert.

    No delivery limit and no dead-letter exchange: the tracker only alerts and acks, and what
    this queue drops is already counted by the message it keeps.
    """
    return {
        "x-queue-type": "quorum",
        "x-max-length": TAP_LOST_MAX_LENGTH,
        "x-overflow": "drop-head",
        "x-single-active-consumer": True,
    }


def alerts_queue_arguments() -> dict[str, Any]:
    """The alerts queue: bounded like an agency queue, so a storm of alerts cannot fill the node."""
    return quorum_queue_arguments(max_bytes=AGENCY_QUEUE_MAX_BYTES)


def notifier_queue_arguments() -> dict[str, Any]:
    """The notifier's two queues (alerts, arrival events): like the alerts queue, but
    without a delivery limit.

    The notifier holds a delivery (an alert or a batch of arrival events) unacked while SMTP
    is down and puts it back after `hold_s` (RabbitMQ closes a consumer that holds a delivery
    past its consumer timeout); a restart returns what it held. Each return counts as a
    delivery in a quorum queue, so a limit would dead-letter a valid delivery during a long
    mail outage. What the notifier cannot read or write an email for it rejects itself, and
    that goes to the dead-letter exchange.
    """
    arguments = quorum_queue_arguments(max_bytes=AGENCY_QUEUE_MAX_BYTES)
    del arguments["x-delivery-limit"]
    return arguments


def dead_letter_queue_arguments(limits: QueueLimits) -> dict[str, Any]:
    """The dead-letter queue: bounded, dead-letters nowhere, and refuses rather than drops.

    Every queue that dead-letters here does so at least once, so when this queue is full a
    dead letter waits in its own queue (RabbitMQ retries) instead of being lost.
    """
    return {
        "x-queue-type": "quorum",
        "x-max-length": limits.dead_letters,
        "x-max-length-bytes": AGENCY_QUEUE_MAX_BYTES,
        "x-overflow": "reject-publish",
    }
