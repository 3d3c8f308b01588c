"""RabbitMQ definitions of one federation, generated from its directory (pure).

The output is the JSON document that `rabbitmqctl import_definitions` and
`definitions.local.path` accept: the vhost, exchanges, queues and bindings, one user per
agency plus the tracker, the dead-letter operator and the notifier, and their permissions.
Passwords come in; only salted hashes go out.

Confinement, per agency user: configure nothing; write only to the messages, alerts and
arrivals exchanges, and there only routing keys that name the agency as sender (on the
arrivals exchange: as the recipient whose inbox stored the message); read only its own
queue. No agency may write to the dead-letter exchange: only RabbitMQ's own dead-lettering
puts messages there. The tracker reads its three tap queues and writes alerts, nothing
else. The notifier reads its own queues of alerts and arrival events and writes nothing.
The operator reads the dead-letter queue and writes to the default exchange, as the
original sender (impersonator tag), to put a dead letter back into the queue it came from.
"""

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker.errors import CaselinkError
from broker.topology.names import (
    AGENCY_QUEUE_MAX_BYTES,
    ALERTS_BINDING_KEY,
    ALERTS_EXCHANGE,
    ALERTS_QUEUE,
    ARRIVALS_BINDING_KEY,
    ARRIVALS_EXCHANGE,
    DEAD_LETTER_BINDING_KEY,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    MESSAGES_EXCHANGE,
    NOTIFIER_ARRIVALS_QUEUE,
    NOTIFIER_BINDING_KEY,
    NOTIFIER_QUEUE,
    SERVICE_USERS,
    TAP_BINDING_KEY,
    TAP_LOST_EXCHANGE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_EXCHANGE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    Topology,
    agency_binding_key,
    alerts_queue_arguments,
    dead_letter_queue_arguments,
    notifier_queue_arguments,
    quorum_queue_arguments,
    tap_lost_queue_arguments,
    tap_overflow_queue_arguments,
    tap_queue_arguments,
)
from schemas.directory import Directory

HASHING_ALGORITHM = "rabbit_password_hashing_sha256"
SALT_BYTES = 4
NOTHING = "^$"
# RabbitMQ's name for the default exchange in permission checks.
DEFAULT_EXCHANGE_RESOURCE = "amq.default"
# Lets a user publish with a user_id other than its own: the operator's requeue keeps the
# original sender's user_id, which the recipient's gateway checks against the signed sender.
IMPERSONATOR_TAG = "impersonator"

Definitions = dict[str, Any]


class TopologyError(CaselinkError):
    """Definitions are invalid, rabbitmqctl failed, or the node differs from the definitions."""

    reason = "topology_error"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's SHA-256 password hash: base64(salt + sha256(salt + utf-8 password)).

    The 4-byte salt is random unless given (tests pin it to compare with known hashes).
    """
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ValueError(f"the salt must be {SALT_BYTES} bytes")
    digest = hashlib.sha256(salt + password.encode("utf-8")).digest()
    return base64.b64encode(salt + digest).decode("ascii")


def password_matches(password_hash: str, password: str) -> bool:
    """Whether a `rabbit_password_hashing_sha256` hash was made from `password`."""
    try:
        raw = base64.b64decode(password_hash, validate=True)
    except ValueError:
        return False
    if len(raw) != SALT_BYTES + hashlib.sha256().digest_size:
        return False
    return hmac.compare_digest(hash_password(password, raw[:SALT_BYTES]), password_hash)


@dataclass(frozen=True)
class Permission:
    """A user's configure / write / read regexes on one vhost (resource names)."""

    configure: str
    write: str
    read: str


@dataclass(frozen=True)
class TopicPermission:
    """A user's write / read regexes on the routing keys of one topic exchange."""

    exchange: str
    write: str
    read: str


def exactly(*names: str) -> str:
    """A regex that matches exactly one of `names`, each escaped."""
    if len(names) == 1:
        return f"^{re.escape(names[0])}$"
    return f"^({'|'.join(re.escape(name) for name in names)})$"


def agency_permission(topology: Topology, agency_id: str) -> Permission:
    """An agency declares nothing, publishes messages, alerts and arrival events, reads its
    own queue."""
    # Not the dead-letter exchange: a refused envelope is rejected without requeue, and its
    # queue's own dead-lettering writes it there with RabbitMQ's x-death record. An agency
    # that could write there could plant fake dead letters for the operator to requeue.
    return Permission(
        configure=NOTHING,
        write=exactly(MESSAGES_EXCHANGE, ALERTS_EXCHANGE, ARRIVALS_EXCHANGE),
        read=exactly(topology.agency_queue(agency_id)),
    )


def agency_message_key_pattern(agency_id: str) -> str:
    """Routing keys an agency may publish on the messages exchange: itself as sender."""
    return rf"^[a-z]+\.{re.escape(agency_id)}\.[a-z0-9-]+$"


def agency_alert_key_pattern(agency_id: str) -> str:
    """Routing keys an agency may publish on the alerts exchange: alerts about itself."""
    return rf"^alert\.[a-z_]+\.{re.escape(agency_id)}$"


def agency_arrival_key_pattern(agency_id: str) -> str:
    """Routing keys an agency may publish on the arrivals exchange: its own arrivals."""
    return rf"^arrival\.[a-z]+\.{re.escape(agency_id)}$"


def agency_topic_permissions(agency_id: str) -> list[TopicPermission]:
    """Topic permissions of an agency on the three topic exchanges (the DLX is a fanout)."""
    # A topic exchange without a topic permission accepts any routing key, so every topic
    # exchange the user may write to needs one.
    return [
        TopicPermission(MESSAGES_EXCHANGE, agency_message_key_pattern(agency_id), NOTHING),
        TopicPermission(ALERTS_EXCHANGE, agency_alert_key_pattern(agency_id), NOTHING),
        TopicPermission(ARRIVALS_EXCHANGE, agency_arrival_key_pattern(agency_id), NOTHING),
    ]


def tracker_permission() -> Permission:
    """The tracker declares nothing, publishes alerts only, reads its tap queues only."""
    return Permission(
        configure=NOTHING,
        write=exactly(ALERTS_EXCHANGE),
        read=exactly(TAP_QUEUE, TAP_OVERFLOW_QUEUE, TAP_LOST_QUEUE),
    )


def tracker_topic_permissions() -> list[TopicPermission]:
    """The tracker raises alerts about any agency, and only alerts."""
    return [TopicPermission(ALERTS_EXCHANGE, r"^alert\..*", NOTHING)]


def notifier_permission() -> Permission:
    """The notifier declares nothing, publishes nothing, reads its own two queues only."""
    # Rejecting what it cannot read needs no write: its queue's dead-lettering writes it.
    return Permission(
        configure=NOTHING, write=NOTHING, read=exactly(NOTIFIER_QUEUE, NOTIFIER_ARRIVALS_QUEUE)
    )


def operator_permission() -> Permission:
    """The dead-letter operator declares nothing, reads the dead-letter queue, and publishes
    only to the default exchange: to one queue by its name, the one a dead letter came from."""
    return Permission(
        configure=NOTHING,
        write=exactly(DEFAULT_EXCHANGE_RESOURCE),
        read=exactly(DEAD_LETTER_QUEUE),
    )


def _user(name: str, password: str, tags: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": hash_password(password),
        "hashing_algorithm": HASHING_ALGORITHM,
        "tags": tags,
    }


def _exchange(vhost: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": vhost,
        "type": kind,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }


def _queue(vhost: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": vhost,
        "durable": True,
        "auto_delete": False,
        "arguments": arguments,
    }


def _binding(vhost: str, source: str, queue: str, key: str) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


@dataclass(frozen=True)
class _Grant:
    user: str
    permission: Permission
    topics: list[TopicPermission]
    tags: tuple[str, ...] = ()

    def permission_entry(self, vhost: str) -> dict[str, Any]:
        p = self.permission
        return {
            "user": self.user,
            "vhost": vhost,
            "configure": p.configure,
            "write": p.write,
            "read": p.read,
        }

    def topic_entries(self, vhost: str) -> list[dict[str, Any]]:
        return [
            {
                "user": self.user,
                "vhost": vhost,
                "exchange": t.exchange,
                "write": t.write,
                "read": t.read,
            }
            for t in self.topics
        ]


def _grants(topology: Topology, agency_ids: list[str]) -> list[_Grant]:
    grants = [
        _Grant(topology.agency_user(i), agency_permission(topology, i), agency_topic_permissions(i))
        for i in agency_ids
    ]
    grants.append(
        _Grant(topology.tracker_user(), tracker_permission(), tracker_topic_permissions())
    )
    grants.append(
        _Grant(topology.operator_user(), operator_permission(), [], tags=(IMPERSONATOR_TAG,))
    )
    grants.append(_Grant(topology.notifier_user(), notifier_permission(), []))
    return grants


def _queues(topology: Topology, agency_ids: list[str]) -> list[dict[str, Any]]:
    vhost = topology.vhost
    # A dict of its own per queue: a caller editing one queue must not edit them all.
    return [
        *(
            _queue(
                vhost,
                topology.agency_queue(i),
                quorum_queue_arguments(max_bytes=AGENCY_QUEUE_MAX_BYTES),
            )
            for i in agency_ids
        ),
        _queue(vhost, TAP_QUEUE, tap_queue_arguments(topology.limits)),
        _queue(vhost, TAP_OVERFLOW_QUEUE, tap_overflow_queue_arguments(topology.limits)),
        _queue(vhost, TAP_LOST_QUEUE, tap_lost_queue_arguments()),
        _queue(vhost, ALERTS_QUEUE, alerts_queue_arguments()),
        _queue(vhost, NOTIFIER_QUEUE, notifier_queue_arguments()),
        _queue(vhost, NOTIFIER_ARRIVALS_QUEUE, notifier_queue_arguments()),
        _queue(vhost, DEAD_LETTER_QUEUE, dead_letter_queue_arguments(topology.limits)),
    ]


def _bindings(topology: Topology, agency_ids: list[str]) -> list[dict[str, Any]]:
    vhost = topology.vhost
    return [
        *(
            _binding(vhost, MESSAGES_EXCHANGE, topology.agency_queue(i), agency_binding_key(i))
            for i in agency_ids
        ),
        _binding(vhost, MESSAGES_EXCHANGE, TAP_QUEUE, TAP_BINDING_KEY),
        # Fanouts: the binding key is ignored.
        _binding(vhost, TAP_OVERFLOW_EXCHANGE, TAP_OVERFLOW_QUEUE, ""),
        _binding(vhost, TAP_LOST_EXCHANGE, TAP_LOST_QUEUE, ""),
        _binding(vhost, ALERTS_EXCHANGE, ALERTS_QUEUE, ALERTS_BINDING_KEY),
        _binding(vhost, ALERTS_EXCHANGE, NOTIFIER_QUEUE, NOTIFIER_BINDING_KEY),
        _binding(vhost, ARRIVALS_EXCHANGE, NOTIFIER_ARRIVALS_QUEUE, ARRIVALS_BINDING_KEY),
        _binding(vhost, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, DEAD_LETTER_BINDING_KEY),
    ]


def build_definitions(
    directory: Directory, passwords: Mapping[str, str], topology: Topology
) -> Definitions:
    """The definitions document for every agency of `directory` and the service users.

    `passwords` maps RabbitMQ user names to passwords; raises TopologyError when one is
    missing, or when an agency id is the name of a service user (the tracker's, the
    operator's or the notifier's: it would get that user's grants). Each call draws fresh
    salts, so two calls differ only in `password_hash`.
    """
    vhost = topology.vhost
    agency_ids = [agency.id for agency in directory.agencies]
    taken = sorted(set(agency_ids) & set(SERVICE_USERS))
    if taken:
        raise TopologyError(f"agency id {taken[0]} is the name of a Caselink service user")
    grants = _grants(topology, agency_ids)
    missing = [grant.user for grant in grants if grant.user not in passwords]
    if missing:
        raise TopologyError(f"no password for RabbitMQ users: {', '.join(missing)}")
    return {
        "users": [_user(grant.user, passwords[grant.user], list(grant.tags)) for grant in grants],
        "vhosts": [{"name": vhost}],
        "permissions": [grant.permission_entry(vhost) for grant in grants],
        "topic_permissions": [entry for grant in grants for entry in grant.topic_entries(vhost)],
        "exchanges": [
            _exchange(vhost, MESSAGES_EXCHANGE, "topic"),
            _exchange(vhost, ALERTS_EXCHANGE, "topic"),
            _exchange(vhost, ARRIVALS_EXCHANGE, "topic"),
            _exchange(vhost, DEAD_LETTER_EXCHANGE, "fanout"),
            _exchange(vhost, TAP_OVERFLOW_EXCHANGE, "fanout"),
            _exchange(vhost, TAP_LOST_EXCHANGE, "fanout"),
        ],
        "queues": _queues(topology, agency_ids),
        "bindings": _bindings(topology, agency_ids),
        "policies": [],
        "parameters": [],
        "global_parameters": [],
    }
