"""Every RabbitMQ name Caselink uses, as pure functions: one place to read the topology.

Routing keys are `<kind>.<sender>.<recipient>`: agency ids are public slugs, so nothing
personal ever reaches a routing key. A `Topology` value carries the vhost and a user-name
prefix so tests can run in their own vhost with their own users.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.kinds import MessageKind

DEFAULT_VHOST = "caselink"
MESSAGES_EXCHANGE = "caselink.messages"
ALERTS_EXCHANGE = "caselink.alerts"
DEAD_LETTER_EXCHANGE = "caselink.dead-letter"
DEAD_LETTER_QUEUE = "caselink.dead-letters"
TAP_QUEUE = "caselink.tracker-tap"
ALERTS_QUEUE = "caselink.alerts"
TRACKER_USER = "tracker"

# A message that fails this many deliveries is poison: dead-lettered, not retried forever.
DELIVERY_LIMIT = 5
# Bound each agency queue so a flood cannot exhaust the node; publishers get a nack, not a drop.
AGENCY_QUEUE_MAX_BYTES = 2 * 1024**3

# Content types on the wire: a sealed envelope (docs/envelope.md), or an alert's JSON.
ENVELOPE_CONTENT_TYPE = "application/caselink-envelope+json"
ALERT_CONTENT_TYPE = "application/json"

# Headers the gateway and the dead-letter tooling add. Values are reasons and ids only.
REFUSAL_HEADER = "x-caselink-refusal"
REFUSAL_DETAIL_HEADER = "x-caselink-refusal-detail"
ORIGINAL_ROUTING_KEY_HEADER = "x-caselink-original-routing-key"


def routing_key(kind: MessageKind | str, sender: str, recipient: str) -> str:
    """`<kind>.<sender>.<recipient>` for the messages exchange."""
    return f"{MessageKind(kind).value}.{sender}.{recipient}"


def agency_binding_key(agency_id: str) -> str:
    """Binding of an agency's queue: every kind, from any sender, to this agency."""
    return f"*.*.{agency_id}"


TAP_BINDING_KEY = "#"
# Everything on the alerts exchange reaches the alerts queue (coordinators, tests).
ALERTS_BINDING_KEY = "alert.#"
# The dead-letter exchange is a fanout: the binding key is ignored, so it is empty.
DEAD_LETTER_BINDING_KEY = ""


def alert_routing_key(level: str, agency_id: str) -> str:
    """`alert.<level>.<agency>` on the alerts exchange."""
    return f"alert.{level}.{agency_id}"


@dataclass(frozen=True)
class Topology:
    """Where a federation lives on the broker: its vhost and its user-name prefix."""

    vhost: str = DEFAULT_VHOST
    user_prefix: str = ""

    def agency_queue(self, agency_id: str) -> str:
        """The agency's own inbox queue: it alone may read it."""
        return f"agency.{agency_id}"

    def agency_user(self, agency_id: str) -> str:
        """The RabbitMQ user of an agency; the `user_id` property of its messages."""
        return f"{self.user_prefix}{agency_id}"

    def tracker_user(self) -> str:
        """The tracker's RabbitMQ user: reads the tap queue, writes alerts."""
        return f"{self.user_prefix}{TRACKER_USER}"

    def users(self, agency_ids: Iterable[str]) -> list[str]:
        """Every RabbitMQ user of a federation: one per agency, then the tracker's."""
        return [*(self.agency_user(agency_id) for agency_id in agency_ids), self.tracker_user()]


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


def tap_queue_arguments() -> dict[str, Any]:
    """The tracker's tap: one active consumer at a time, so a standby can take over."""
    return {
        **quorum_queue_arguments(max_bytes=AGENCY_QUEUE_MAX_BYTES),
        "x-single-active-consumer": True,
    }


def alerts_queue_arguments() -> dict[str, Any]:
    """The alerts queue: bounded like an agency queue, so a storm of alerts cannot fill the node."""
    return quorum_queue_arguments(max_bytes=AGENCY_QUEUE_MAX_BYTES)


def dead_letter_queue_arguments() -> dict[str, Any]:
    """The dead-letter queue itself: quorum, and it dead-letters nowhere."""
    return {"x-queue-type": "quorum"}
