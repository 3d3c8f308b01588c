"""docs/asyncapi.json is current, names the real topology, and is made without a connection."""

import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from broker.topology.asyncapi import (
    ARRIVAL_ROUTING_KEY,
    MESSAGE_ROUTING_KEY,
    asyncapi_document,
)
from broker.topology.names import (
    ALERTS_EXCHANGE,
    ALERTS_QUEUE,
    ARRIVALS_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DEFAULT_VHOST,
    MESSAGES_EXCHANGE,
    NOTIFIER_ARRIVALS_QUEUE,
    NOTIFIER_QUEUE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    Topology,
    agency_binding_key,
    alert_routing_key,
    arrival_routing_key,
    routing_key,
)
from schemas.alert import AlertLevel
from schemas.export import render
from schemas.kinds import MessageKind

CHECKED_IN = Path(__file__).parents[3] / "docs" / "asyncapi.json"
REGENERATE = "run `caselink schemas asyncapi --out docs/asyncapi.json` and commit the result"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return asyncapi_document()


def test_checked_in_document_is_current(document: dict[str, Any]) -> None:
    assert CHECKED_IN.read_text() == render(document), f"stale docs/asyncapi.json: {REGENERATE}"


def test_generating_twice_gives_the_same_text(document: dict[str, Any]) -> None:
    assert render(asyncapi_document()) == render(document)


def test_generating_opens_no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the AsyncAPI generator tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert asyncapi_document()["asyncapi"] == "3.0.0"


def _amqp(document: dict[str, Any], channel: str) -> dict[str, Any]:
    binding: dict[str, Any] = document["channels"][channel]["bindings"]["amqp"]
    return binding


def _message(document: dict[str, Any], channel: str) -> dict[str, Any]:
    [reference] = document["channels"][channel]["messages"].values()
    message: dict[str, Any] = _resolve(document, reference["$ref"])
    return message


def _resolve(document: dict[str, Any], pointer: str) -> Any:
    assert pointer.startswith("#/"), pointer
    node: Any = document
    for part in pointer[2:].split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def test_exchanges_are_the_real_ones(document: dict[str, Any]) -> None:
    exchanges = {
        channel: _amqp(document, channel)["exchange"]
        for channel in ("messages-publish", "alerts-publish")
    }
    assert {c: (e["name"], e["type"]) for c, e in exchanges.items()} == {
        "messages-publish": (MESSAGES_EXCHANGE, "topic"),
        "alerts-publish": (ALERTS_EXCHANGE, "topic"),
    }
    # No one publishes to the dead-letter exchange any more: only RabbitMQ writes there.
    sent_to = {
        binding["exchange"]["name"]
        for channel in document["channels"].values()
        if "exchange" in (binding := channel["bindings"]["amqp"])
    }
    assert DEAD_LETTER_EXCHANGE not in sent_to


def test_queues_and_their_bindings_are_the_real_ones(document: dict[str, Any]) -> None:
    agency = "{agency}"
    expected = {
        "agency-inbox": (Topology().agency_queue(agency), agency_binding_key(agency)),
        "tracker-tap": (TAP_QUEUE, "#"),
        "tracker-tap-overflow": (TAP_OVERFLOW_QUEUE, None),
        "tracker-tap-lost": (TAP_LOST_QUEUE, None),
        "alerts-queue": (ALERTS_QUEUE, "alert.#"),
        "notifier": (NOTIFIER_QUEUE, "alert.#"),
        "notifier-arrivals": (NOTIFIER_ARRIVALS_QUEUE, "arrival.#"),
        "dead-letters": (DEAD_LETTER_QUEUE, None),  # a fanout: no address
    }
    found = {
        channel: (
            _amqp(document, channel)["queue"]["name"],
            document["channels"][channel].get("address"),
        )
        for channel in expected
    }
    assert found == expected


def test_every_binding_names_the_vhost_as_rabbitmq_does(document: dict[str, Any]) -> None:
    vhosts = {
        part["vhost"]
        for channel in document["channels"]
        for part in _amqp(document, channel).values()
        if isinstance(part, dict)
    }
    assert vhosts == {DEFAULT_VHOST}


@pytest.mark.parametrize("kind", list(MessageKind))
def test_the_routing_key_template_is_the_one_names_builds(kind: MessageKind) -> None:
    filled = MESSAGE_ROUTING_KEY.format(kind=kind.value, sender="a-b", recipient="c-d")
    assert filled == routing_key(kind, "a-b", "c-d")


def test_the_alert_address_is_the_one_names_builds(document: dict[str, Any]) -> None:
    address = document["channels"]["alerts-publish"]["address"]
    assert address.format(level="escalation", agency="a-b") == alert_routing_key(
        "escalation", "a-b"
    )
    level = document["channels"]["alerts-publish"]["parameters"]["level"]
    assert level["enum"] == [level.value for level in AlertLevel]


def test_the_arrival_address_is_the_one_names_builds(document: dict[str, Any]) -> None:
    channel = document["channels"]["arrivals-publish"]
    assert channel["address"] == ARRIVAL_ROUTING_KEY
    assert ARRIVAL_ROUTING_KEY.format(kind="transfer", agency="a-b") == arrival_routing_key(
        "transfer", "a-b"
    )
    assert _amqp(document, "arrivals-publish")["exchange"]["name"] == ARRIVALS_EXCHANGE
    for name in ("arrivals-publish", "notifier-arrivals"):
        message = _message(document, name)
        assert message["payload"] == {"$ref": "#/components/schemas/Arrivals"}
        assert message["contentType"] == "application/json"


def test_every_address_parameter_is_declared(document: dict[str, Any]) -> None:
    for name, channel in document["channels"].items():
        in_address = set(re.findall(r"\{(\w+)\}", channel.get("address") or ""))
        assert in_address == set(channel.get("parameters", {})), name


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return own + [r for value in node.values() for r in references(value)]
        if isinstance(node, list):
            return [r for value in node for r in references(value)]
        return []

    found = references(document)
    assert len(found) > 20
    for pointer in found:
        assert _resolve(document, pointer) is not None, pointer


def test_envelopes_are_sealed_and_alerts_are_plain(document: dict[str, Any]) -> None:
    for channel in ("messages-publish", "agency-inbox", "tracker-tap"):
        message = _message(document, channel)
        assert message["payload"] == {"$ref": "#/components/schemas/SealedEnvelope"}
        assert message["contentType"] == "application/caselink-envelope+json"
        assert "correlationId" not in message
    for channel in ("alerts-publish", "alerts-queue"):
        message = _message(document, channel)
        assert message["payload"] == {"$ref": "#/components/schemas/Alert"}
        assert message["contentType"] == "application/json"
    envelope = document["components"]["schemas"]["SealedEnvelope"]
    assert envelope["properties"]["header"] == {"$ref": "#/components/schemas/EnvelopeHeader"}


def test_dead_letters_carry_rabbitmq_s_x_death_only(document: dict[str, Any]) -> None:
    # The refusal's reason travels in the gateway's alert, not in a header an agency writes.
    dead_letter = _message(document, "dead-letters")["headers"]
    assert set(dead_letter["properties"]) == {"x-death"}
