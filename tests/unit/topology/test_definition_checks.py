"""Structural checks before import, and drift found in the node's export after it."""

import copy
from collections.abc import Callable
from typing import Any

import pytest

from broker.topology.definition_checks import check_definitions, find_drift
from broker.topology.definitions import TopologyError, build_definitions
from broker.topology.names import MESSAGES_EXCHANGE, Topology
from tests.unit.topology.directories import AGENCY_IDS, directory_of

TOPOLOGY = Topology(vhost="caselink-unit", user_prefix="unit-")
PASSWORDS = dict.fromkeys(TOPOLOGY.users(AGENCY_IDS), "pw")

Defs = dict[str, Any]


def topic(user: str, vhost: str, exchange: str) -> dict[str, str]:
    return {"user": user, "vhost": vhost, "exchange": exchange, "write": ".*", "read": ".*"}


def binding_to(queue: str, vhost: str, key: str = "#") -> dict[str, Any]:
    return {
        "source": MESSAGES_EXCHANGE,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


@pytest.fixture
def expected() -> Defs:
    return build_definitions(directory_of(AGENCY_IDS), PASSWORDS, TOPOLOGY)


def exported(expected: Defs) -> Defs:
    """What RabbitMQ's export looks like after a faithful import, other vhosts included."""
    live = copy.deepcopy(expected)
    for exchange in live["exchanges"]:
        del exchange["internal"]  # the export leaves out defaults
    for user in live["users"]:
        user["limits"] = {}
    guest = {"name": "guest", "password_hash": "x", "tags": ["administrator"]}
    live["users"].append(guest | {"hashing_algorithm": "rabbit_password_hashing_sha256"})
    everything = {"configure": ".*", "write": ".*", "read": ".*"}
    live["permissions"].append({"user": "guest", "vhost": "caselink-unit"} | everything)
    live["vhosts"] = [{"name": "/"}, {"name": "caselink-unit", "metadata": {}, "limits": []}]
    return live


def test_built_definitions_pass_the_structural_check(expected: Defs) -> None:
    check_definitions(expected)


def _drop_field(d: Defs) -> None:
    del d["queues"][0]["arguments"]


def _unknown_user(d: Defs) -> None:
    d["permissions"][0]["user"] = "nobody"


def _unknown_vhost(d: Defs) -> None:
    d["queues"][0]["vhost"] = "elsewhere"


def _bad_regex(d: Defs) -> None:
    d["topic_permissions"][0]["write"] = "^(unclosed$"


def _binding_to_nowhere(d: Defs) -> None:
    d["bindings"][0]["destination"] = "agency.nowhere"


def _topic_on_unknown_exchange(d: Defs) -> None:
    d["topic_permissions"][0]["exchange"] = "amq.topic"


def _not_a_list(d: Defs) -> None:
    d["users"] = {"name": "x"}


BROKEN: dict[str, tuple[Callable[[Defs], None], str]] = {
    "missing field": (_drop_field, r"queues\[0\] lacks arguments"),
    "unknown user": (_unknown_user, "unknown user nobody"),
    "unknown vhost": (_unknown_vhost, "unknown vhost elsewhere"),
    "bad regex": (_bad_regex, r"topic_permissions\[0\].write is not a regex"),
    "binding to nowhere": (_binding_to_nowhere, "unknown queue agency.nowhere"),
    "unknown exchange": (_topic_on_unknown_exchange, "unknown amq.topic"),
    "not a list": (_not_a_list, "users must be a list of objects"),
}


@pytest.mark.parametrize(("breaks", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_definitions_are_refused(
    expected: Defs, breaks: Callable[[Defs], None], message: str
) -> None:
    breaks(expected)
    with pytest.raises(TopologyError, match=message):
        check_definitions(expected)


def test_a_faithful_export_shows_no_drift(expected: Defs) -> None:
    assert find_drift(expected, exported(expected)) == []


def _queue(live: Defs, name: str) -> dict[str, Any]:
    queues: list[dict[str, Any]] = [q for q in live["queues"] if q["name"] == name]
    [queue] = queues
    return queue


def test_kept_queue_arguments_are_drift(expected: Defs) -> None:
    live = exported(expected)
    _queue(live, "agency.oscc-north")["arguments"]["x-delivery-limit"] = 20
    assert find_drift(expected, live) == [
        "queues caselink-unit/agency.oscc-north has another arguments"
    ]


def test_missing_objects_are_drift(expected: Defs) -> None:
    live = exported(expected)
    live["queues"] = [q for q in live["queues"] if q["name"] != "agency.police-west"]
    live["bindings"] = [b for b in live["bindings"] if b["destination"] != "agency.police-west"]
    drift = find_drift(expected, live)
    assert "queues caselink-unit/agency.police-west is missing" in drift
    assert any(
        line.startswith("bindings caselink-unit/caselink.messages/agency.police-west")
        for line in drift
    )


def test_password_and_permission_drift_names_no_secret(expected: Defs) -> None:
    live = exported(expected)
    live["users"][0]["password_hash"] = "c29tZXRoaW5nIGVsc2U="
    live["permissions"][0]["read"] = ".*"
    drift = find_drift(expected, live)
    assert drift == [
        "users unit-oscc-north has another password_hash",
        "permissions caselink-unit/unit-oscc-north has another read",
    ]


def test_grants_that_import_cannot_remove_are_drift(expected: Defs) -> None:
    live = exported(expected)
    live["topic_permissions"].append(topic("unit-oscc-north", "caselink-unit", "amq.topic"))
    live["bindings"].append(binding_to("agency.social-east", "caselink-unit"))
    assert find_drift(expected, live) == [
        "unexpected topic permission of unit-oscc-north on amq.topic",
        "unexpected binding caselink.messages -> agency.social-east",
    ]


def test_other_vhosts_and_users_are_left_alone(expected: Defs) -> None:
    live = exported(expected)
    live["bindings"].append(binding_to("agency.social-east", "/"))
    live["topic_permissions"].append(topic("guest", "caselink-unit", "amq.topic"))
    assert find_drift(expected, live) == []
