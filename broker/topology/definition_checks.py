"""Checks on definitions documents (pure): structure before import, drift after it.

`rabbitmqctl import_definitions` exits 0 while it silently keeps an existing queue or
exchange as it is (other arguments, even another queue type), leaves bindings it does not
know in place, and skips queues and bindings altogether while a cluster is below its target
size. So an import is only done when the node's own export agrees with what was imported.
"""

import re
from typing import Any

from broker.topology.definitions import Definitions, TopologyError

_REQUIRED: dict[str, tuple[str, ...]] = {
    "users": ("name", "password_hash", "hashing_algorithm", "tags"),
    "vhosts": ("name",),
    "permissions": ("user", "vhost", "configure", "write", "read"),
    "topic_permissions": ("user", "vhost", "exchange", "write", "read"),
    "exchanges": ("name", "vhost", "type", "durable", "auto_delete", "internal", "arguments"),
    "queues": ("name", "vhost", "durable", "auto_delete", "arguments"),
    "bindings": ("source", "vhost", "destination", "destination_type", "routing_key"),
}
# A binding is its ends and its key; two bindings that differ only in arguments are distinct.
_BINDING_KEY = ("vhost", "source", "destination", "destination_type", "routing_key")
# What identifies an entry of each section, and which of its fields must match the node.
_COMPARED: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("vhosts", ("name",), ()),
    ("users", ("name",), ("password_hash", "hashing_algorithm", "tags")),
    ("permissions", ("vhost", "user"), ("configure", "write", "read")),
    ("topic_permissions", ("vhost", "user", "exchange"), ("write", "read")),
    ("exchanges", ("vhost", "name"), ("type", "durable", "auto_delete", "internal", "arguments")),
    ("queues", ("vhost", "name"), ("durable", "auto_delete", "arguments")),
    ("bindings", _BINDING_KEY, ("arguments",)),
)
# RabbitMQ's export leaves these out when they hold their default.
_DEFAULTS: dict[str, Any] = {"internal": False, "arguments": {}}
_REGEX_FIELDS = {
    "permissions": ("configure", "write", "read"),
    "topic_permissions": ("write", "read"),
}


def _entries(definitions: Definitions, section: str) -> list[dict[str, Any]]:
    entries = definitions.get(section, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TopologyError(f"definitions: {section} must be a list of objects")
    return entries


def _check_fields(definitions: Definitions) -> None:
    for section, fields in _REQUIRED.items():
        for index, entry in enumerate(_entries(definitions, section)):
            missing = [field for field in fields if field not in entry]
            if missing:
                raise TopologyError(f"definitions: {section}[{index}] lacks {', '.join(missing)}")
            for field in _REGEX_FIELDS.get(section, ()):
                try:
                    re.compile(entry[field])
                except (re.error, TypeError) as exc:
                    raise TopologyError(
                        f"definitions: {section}[{index}].{field} is not a regex"
                    ) from exc


def _check_references(definitions: Definitions) -> None:
    vhosts = {v["name"] for v in _entries(definitions, "vhosts")}
    users = {u["name"] for u in _entries(definitions, "users")}
    exchanges = {(e["vhost"], e["name"]) for e in _entries(definitions, "exchanges")}
    queues = {(q["vhost"], q["name"]) for q in _entries(definitions, "queues")}
    for section in ("permissions", "topic_permissions", "exchanges", "queues", "bindings"):
        for entry in _entries(definitions, section):
            if entry["vhost"] not in vhosts:
                raise TopologyError(f"definitions: {section} names unknown vhost {entry['vhost']}")
    for section in ("permissions", "topic_permissions"):
        for entry in _entries(definitions, section):
            if entry["user"] not in users:
                raise TopologyError(f"definitions: {section} names unknown user {entry['user']}")
    for entry in _entries(definitions, "topic_permissions"):
        if (entry["vhost"], entry["exchange"]) not in exchanges:
            raise TopologyError(f"definitions: topic permission on unknown {entry['exchange']}")
    for b in _entries(definitions, "bindings"):
        if (b["vhost"], b["source"]) not in exchanges or b["destination_type"] != "queue":
            raise TopologyError(f"definitions: binding from unknown exchange {b['source']}")
        if (b["vhost"], b["destination"]) not in queues:
            raise TopologyError(f"definitions: binding to unknown queue {b['destination']}")


def check_definitions(definitions: Definitions) -> None:
    """Raise TopologyError unless every entry has its fields and names things defined."""
    if not isinstance(definitions, dict):
        raise TopologyError("definitions: the document must be a JSON object")
    _check_fields(definitions)
    _check_references(definitions)


def _index(definitions: Definitions, section: str, *key: str) -> dict[tuple[Any, ...], Any]:
    return {tuple(e.get(k) for k in key): e for e in definitions.get(section, [])}


def _compare(
    expected: Definitions,
    live: Definitions,
    section: str,
    key: tuple[str, ...],
    fields: tuple[str, ...],
) -> list[str]:
    found = _index(live, section, *key)
    drift = []
    for ident, entry in _index(expected, section, *key).items():
        name = "/".join(str(part) for part in ident)
        current = found.get(ident)
        if current is None:
            drift.append(f"{section} {name} is missing")
            continue
        for field in fields:
            default = _DEFAULTS.get(field)
            if entry.get(field, default) != current.get(field, default):
                drift.append(f"{section} {name} has another {field}")
    return drift


def _unexpected(expected: Definitions, live: Definitions) -> list[str]:
    """Grants and bindings on Caselink's own users and queues that import cannot remove."""
    vhosts = {v["name"] for v in expected.get("vhosts", [])}
    users = {u["name"] for u in expected.get("users", [])}
    ours = {(q["vhost"], q["name"]) for q in expected.get("queues", [])}
    topics = _index(expected, "topic_permissions", "vhost", "user", "exchange")
    bindings = _index(expected, "bindings", *_BINDING_KEY)
    drift = []
    for entry in live.get("topic_permissions", []):
        ident = (entry.get("vhost"), entry.get("user"), entry.get("exchange"))
        if ident[0] in vhosts and ident[1] in users and ident not in topics:
            drift.append(f"unexpected topic permission of {ident[1]} on {ident[2]}")
    for entry in live.get("bindings", []):
        ident = tuple(entry.get(k) for k in _BINDING_KEY)
        if (entry.get("vhost"), entry.get("destination")) in ours and ident not in bindings:
            drift.append(f"unexpected binding {entry.get('source')} -> {entry.get('destination')}")
    return drift


def find_drift(expected: Definitions, live: Definitions) -> list[str]:
    """Where the node's export `live` differs from `expected`, one line each (no secrets).

    Only what `expected` defines is compared, plus grants and bindings that widen what its
    users can do; other vhosts, users and an operator's own grants are left alone.
    """
    drift = [
        line
        for section, key, fields in _COMPARED
        for line in _compare(expected, live, section, key, fields)
    ]
    return drift + _unexpected(expected, live)
