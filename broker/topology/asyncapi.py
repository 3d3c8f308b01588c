"""Caselink's message flows as an AsyncAPI 3.0 document, written by FastStream.

A FastStream RabbitBroker is declared with the real names of `broker/topology/names.py` and
the wire models of `schemas/`, and FastStream's AsyncAPI generator writes the document from
it. Nothing connects: a FastStream broker opens a connection only when started, and this
module never starts one. Caselink's services do not run on FastStream (the hot paths use
aiormq, see docs/performance.md); the broker here exists only to be described.

FastStream 0.7 leaves out some of what the contract must say: channel parameters, message
headers, content types and descriptions. It also writes a correlation id Caselink does not
use, and the vhost as a URL path (`/caselink`) where AMQP names it `caselink`. `_complete`
adds and corrects those on the generated document, from the same flow table.

The checked-in copy is docs/asyncapi.json (`caselink schemas asyncapi --out
docs/asyncapi.json`); a unit test fails when it differs from what this module generates.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QueueType
from faststream.specification import AsyncAPI
from pydantic import Field

from broker.topology.names import (
    AGENCY_QUEUE_MAX_BYTES,
    ALERT_CONTENT_TYPE,
    ALERTS_BINDING_KEY,
    ALERTS_EXCHANGE,
    ALERTS_QUEUE,
    ARRIVAL_CONTENT_TYPE,
    ARRIVALS_BINDING_KEY,
    ARRIVALS_EXCHANGE,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DEFAULT_VHOST,
    DELIVERY_LIMIT,
    ENVELOPE_CONTENT_TYPE,
    MESSAGES_EXCHANGE,
    NOTIFIER_ARRIVALS_QUEUE,
    NOTIFIER_BINDING_KEY,
    NOTIFIER_QUEUE,
    TAP_BINDING_KEY,
    TAP_LOST_EXCHANGE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_EXCHANGE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    QueueLimits,
    Topology,
    agency_binding_key,
    alert_routing_key,
)
from schemas.alert import Alert, AlertLevel
from schemas.arrival import MAX_ARRIVALS, Arrivals
from schemas.ids import AGENCY_ID_PATTERN
from schemas.kinds import MessageKind
from schemas.sealed_envelope import SealedEnvelope

ASYNCAPI_VERSION = "3.0.0"
# Where the README's local broker listens; a deployment names its own host (and amqps://).
SERVER_URL = f"amqp://localhost:5672/{DEFAULT_VHOST}"
DEAD_LETTER_CONTENT_TYPE = "application/octet-stream"
# names.routing_key() fills this template; a unit test holds the two together.
MESSAGE_ROUTING_KEY = "{kind}.{sender}.{recipient}"
# names.arrival_routing_key() fills this one.
ARRIVAL_ROUTING_KEY = "arrival.{kind}.{agency}"
AGENCY = "{agency}"

DESCRIPTION = f"""\
How Caselink's gateways (one per agency) and its tracker exchange messages over RabbitMQ \
(vhost `{DEFAULT_VHOST}`).

Every referral, transfer, consent and acknowledgement travels as a sealed envelope \
(docs/envelope.md): a signed clear header of ids, categories and times, and a ciphertext \
that only the recipient agency can open. RabbitMQ, the tracker and anyone reading a queue \
see the header alone; the body schemas (schemas/json/) describe what is inside the \
ciphertext, never what is on the wire.

Each agency connects as its own RabbitMQ user and may read only its own queue; RabbitMQ \
checks the `user_id` of every message against that user, and topic permissions let an \
agency publish only routing keys that name it as sender. Durable queues are quorum queues \
that dead-letter a message after {DELIVERY_LIMIT} failed deliveries."""

SERVER_DESCRIPTION = (
    "RabbitMQ. Each agency's gateway connects as the agency's user, the tracker as "
    "`tracker`; a deployment uses amqps:// on its own host."
)


DeadLetterBody = Annotated[
    bytes,
    Field(
        title="DeadLetterBody",
        description="The body exactly as it was delivered: usually a sealed envelope, but a "
        "refused delivery may not even be JSON, so nothing here is parsed; `caselink dlq` "
        "shows its size and SHA-256 only.",
    ),
]


Handler = Callable[..., Awaitable[None]]


async def _receive_envelope(envelope: SealedEnvelope) -> None:
    """Never called: its signature tells FastStream the payload of an envelope queue."""


async def _receive_alert(alert: Alert) -> None:
    """Never called: its signature tells FastStream the payload of the alerts queue."""


async def _receive_arrivals(arrivals: Arrivals) -> None:
    """Never called: its signature tells FastStream the payload of the arrivals queue."""


async def _receive_dead_letter(body: DeadLetterBody) -> None:
    """Never called: its signature tells FastStream the payload of the dead-letter queue."""


@dataclass(frozen=True)
class Flow:
    """One channel of the document: who sends or receives what, where, and how it is routed.

    `parameters` are AsyncAPI Parameter Objects for the `{...}` parts of `routing_key`;
    `headers` is a JSON Schema of the AMQP application headers.
    """

    title: str
    action: Literal["send", "receive"]
    exchange: RabbitExchange
    routing_key: str
    payload: Any  # a model or an annotated type: FastStream takes either
    content_type: str
    description: str
    message_description: str
    queue: RabbitQueue | None = None
    handler: Handler | None = None
    parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    headers: dict[str, Any] | None = None


def _exchange(name: str, kind: ExchangeType) -> RabbitExchange:
    # declare=False: topology is applied by `caselink topology apply`, never at run time.
    return RabbitExchange(name, type=kind, durable=True, declare=False)


def _queue(name: str, binding_key: str) -> RabbitQueue:
    return RabbitQueue(name, QueueType.QUORUM, declare=False, routing_key=binding_key)


def _agency_parameter(description: str, location: str | None) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "description": f"{description}: an agency id, `{AGENCY_ID_PATTERN}`",
        "examples": ["health-east"],
    }
    if location is not None:
        parameter["location"] = location
    return parameter


def _dead_letter_headers() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "x-death": {
                "type": "array",
                "items": {"type": "object"},
                "description": "Written by RabbitMQ when it dead-letters a message: the "
                "first entry's `queue` and `reason` (`rejected`: a gateway refused the "
                f"envelope; `delivery_limit`: {DELIVERY_LIMIT} failed redeliveries) are "
                "RabbitMQ's own. Its other fields, and any x-first-death-* header, may come "
                "from the original publisher and are not trusted.",
            },
        },
        "description": "The original message's headers, plus RabbitMQ's x-death.",
    }


ENVELOPE_MESSAGE = (
    "A sealed envelope (docs/envelope.md), canonical JSON. Only `header` is readable without "
    "the recipient's key: ids, categories and times, never personal data. The body is inside "
    "`ciphertext`. AMQP properties: `message_id` is the header's message_id, `user_id` the "
    "sender agency's RabbitMQ user (RabbitMQ refuses any other), delivery mode persistent."
)
ARRIVAL_MESSAGE = (
    f"A batch of 1 to {MAX_ARRIVALS} arrival events, plain JSON with null fields left out: "
    "for each referral or transfer the recipient's gateway stored in its inbox, its ids, "
    "kind, urgency, agencies and when it arrived; never anything from the sealed body. All "
    "of one kind and one recipient, those of the routing key. AMQP `message_id` is the "
    "batch's own (each event names its message), `user_id` the recipient agency's RabbitMQ "
    "user; delivery mode persistent."
)
ALERT_MESSAGE = (
    "An alert, plain JSON with null fields left out: ids, categories and times only, never "
    "case content. AMQP `message_id` is the alert_id."
)


def _flows() -> list[Flow]:
    topology = Topology()
    limits = QueueLimits()
    messages = _exchange(MESSAGES_EXCHANGE, ExchangeType.TOPIC)
    alerts = _exchange(ALERTS_EXCHANGE, ExchangeType.TOPIC)
    arrivals = _exchange(ARRIVALS_EXCHANGE, ExchangeType.TOPIC)
    dead_letters = _exchange(DEAD_LETTER_EXCHANGE, ExchangeType.FANOUT)
    tap_overflow = _exchange(TAP_OVERFLOW_EXCHANGE, ExchangeType.FANOUT)
    tap_lost = _exchange(TAP_LOST_EXCHANGE, ExchangeType.FANOUT)
    header = "$message.payload#/header"
    return [
        Flow(
            title="messages-publish",
            action="send",
            exchange=messages,
            routing_key=MESSAGE_ROUTING_KEY,
            payload=SealedEnvelope,
            content_type=ENVELOPE_CONTENT_TYPE,
            description="A gateway publishes the envelopes its agency sends: persistent, "
            "mandatory, and marked sent only once RabbitMQ confirms.",
            message_description=ENVELOPE_MESSAGE,
            parameters={
                "kind": {
                    "description": "The header's kind.",
                    "enum": [kind.value for kind in MessageKind],
                    "location": f"{header}/kind",
                },
                "sender": _agency_parameter("The header's sender", f"{header}/sender"),
                "recipient": _agency_parameter("The header's recipient", f"{header}/recipient"),
            },
        ),
        Flow(
            title="agency-inbox",
            action="receive",
            exchange=messages,
            routing_key=agency_binding_key(AGENCY),
            queue=_queue(topology.agency_queue(AGENCY), agency_binding_key(AGENCY)),
            handler=_receive_envelope,
            payload=SealedEnvelope,
            content_type=ENVELOPE_CONTENT_TYPE,
            description=f"Each agency's queue, bound to {MESSAGES_EXCHANGE} by "
            f"`{agency_binding_key(AGENCY)}`: every kind, from any sender, to that agency. "
            "Only the agency's gateway may read it. The gateway opens each envelope, stores "
            "it and answers with an automatic `received` acknowledgement; an envelope it "
            "refuses is rejected without requeue, and RabbitMQ dead-letters it. Bounded at "
            f"{AGENCY_QUEUE_MAX_BYTES // 1024**3} GiB (a publisher beyond gets a nack).",
            message_description=ENVELOPE_MESSAGE,
            parameters={"agency": _agency_parameter("The queue's agency", f"{header}/recipient")},
        ),
        Flow(
            title="tracker-tap",
            action="receive",
            exchange=messages,
            routing_key=TAP_BINDING_KEY,
            queue=_queue(TAP_QUEUE, TAP_BINDING_KEY),
            handler=_receive_envelope,
            payload=SealedEnvelope,
            content_type=ENVELOPE_CONTENT_TYPE,
            description=f"A copy of every envelope on {MESSAGES_EXCHANGE} for the tracker, "
            "which verifies the signature and follows each thread from the clear header; it "
            "has no decryption key and never reads a body. Single active consumer, so a "
            f"standby tracker takes over. Keeps {limits.tap} messages and then drops its "
            "oldest (never refuses a publish, so a stopped tracker never holds up the "
            f"agencies); what it drops, or fails {DELIVERY_LIMIT} times, goes to "
            "tracker-tap-overflow.",
            message_description=ENVELOPE_MESSAGE,
        ),
        Flow(
            title="tracker-tap-overflow",
            action="receive",
            exchange=tap_overflow,
            routing_key="",
            queue=_queue(TAP_OVERFLOW_QUEUE, ""),
            handler=_receive_envelope,
            payload=SealedEnvelope,
            content_type=ENVELOPE_CONTENT_TYPE,
            description="What the tap dropped or gave up on (RabbitMQ dead-letters it here), "
            f"drained by the tracker like the tap. Keeps {limits.tap_overflow} messages and "
            "then drops its oldest into tracker-tap-lost.",
            message_description=ENVELOPE_MESSAGE,
        ),
        Flow(
            title="tracker-tap-lost",
            action="receive",
            exchange=tap_lost,
            routing_key="",
            queue=_queue(TAP_LOST_QUEUE, ""),
            handler=_receive_envelope,
            payload=SealedEnvelope,
            content_type=ENVELOPE_CONTENT_TYPE,
            description="The latest envelope the tracker missed (the queue keeps one): each "
            "one it reads makes the tracker raise a `missed` alert (reason tap_gap) to the "
            "coordinators, naming that envelope's ids when its header verifies.",
            message_description=ENVELOPE_MESSAGE,
        ),
        Flow(
            title="alerts-publish",
            action="send",
            exchange=alerts,
            routing_key=alert_routing_key("{level}", AGENCY),
            payload=Alert,
            content_type=ALERT_CONTENT_TYPE,
            description="The tracker raises reminders, escalations and declines about a "
            "thread, and a `missed` alert when it missed messages; a gateway raises a "
            "refused_envelope alert about an envelope it refused, with the refusal's reason "
            "and the envelope's message id. Topic permissions let an agency publish only "
            "alerts about itself.",
            message_description=ALERT_MESSAGE,
            parameters={
                "level": {
                    "description": "The alert's level.",
                    "enum": [level.value for level in AlertLevel],
                    "location": "$message.payload#/level",
                },
                "agency": _agency_parameter(
                    "The agency the alert is addressed to", "$message.payload#/agency"
                ),
            },
        ),
        Flow(
            title="alerts-queue",
            action="receive",
            exchange=alerts,
            routing_key=ALERTS_BINDING_KEY,
            queue=_queue(ALERTS_QUEUE, ALERTS_BINDING_KEY),
            handler=_receive_alert,
            payload=Alert,
            content_type=ALERT_CONTENT_TYPE,
            description=f"Every alert on {ALERTS_EXCHANGE}, for coordinators' tools.",
            message_description=ALERT_MESSAGE,
        ),
        Flow(
            title="notifier",
            action="receive",
            exchange=alerts,
            routing_key=NOTIFIER_BINDING_KEY,
            queue=_queue(NOTIFIER_QUEUE, NOTIFIER_BINDING_KEY),
            handler=_receive_alert,
            payload=Alert,
            content_type=ALERT_CONTENT_TYPE,
            description=f"Every alert on {ALERTS_EXCHANGE}, for `caselink notifier`, the only "
            "reader (user `notifier`). It emails the people its config names for the "
            "tracker's reminders, escalations, declined emergency referrals, sharings without "
            "consent and dead-letter capacity alerts, and acks the rest; it takes an alert as "
            "the tracker's only when its AMQP `user_id` is the tracker's user. One email per "
            "alert_id, recipient language and time zone, recorded after the SMTP server "
            "accepted it. While SMTP fails it holds the alert unacked, retrying with backoff, "
            "and puts it back after a while; the queue has no delivery limit, so an outage "
            "never dead-letters an alert. An alert it cannot parse or write an email for is "
            "rejected and dead-lettered.",
            message_description=ALERT_MESSAGE,
        ),
        Flow(
            title="arrivals-publish",
            action="send",
            exchange=arrivals,
            routing_key=ARRIVAL_ROUTING_KEY,
            payload=Arrivals,
            content_type=ARRIVAL_CONTENT_TYPE,
            description="A gateway announces each referral or transfer once it is durably in "
            "its inbox (the first time only: a redelivery is not announced again), on its "
            "existing connection, persistent, mandatory and confirmed. Events go in batches: "
            "each publish carries every event of one kind waiting at that moment (up to "
            f"{MAX_ARRIVALS}; one event when the inbox is quiet: nothing waits for a batch to "
            "fill). Topic permissions let an agency publish only keys naming itself as the "
            "recipient. An event that cannot be published is retried with backoff from "
            "memory and may be lost at a restart: the message itself is never held up or "
            "lost, and the tracker's deadlines still remind.",
            message_description=ARRIVAL_MESSAGE,
            parameters={
                "kind": {
                    "description": "The kind of every message in the batch.",
                    "enum": [MessageKind.REFERRAL.value, MessageKind.TRANSFER.value],
                    "location": "$message.payload#/arrivals/0/kind",
                },
                "agency": _agency_parameter(
                    "The recipient agency of every event in the batch, whose gateway publishes it",
                    "$message.payload#/arrivals/0/recipient",
                ),
            },
        ),
        Flow(
            title="notifier-arrivals",
            action="receive",
            exchange=arrivals,
            routing_key=ARRIVALS_BINDING_KEY,
            queue=_queue(NOTIFIER_ARRIVALS_QUEUE, ARRIVALS_BINDING_KEY),
            handler=_receive_arrivals,
            payload=Arrivals,
            content_type=ARRIVAL_CONTENT_TYPE,
            description=f"Every batch of arrival events on {ARRIVALS_EXCHANGE}, for "
            "`caselink notifier`, the only reader (user `notifier`). For each event it emails "
            "the recipient agency's duty addresses a new referral or new transfer, with a "
            "link to the message's page on that agency's gateway. It believes a batch only "
            "when its AMQP `user_id` is the RabbitMQ user of the `recipient` of every event "
            "in it: any other (or none), or one event naming another recipient, and the "
            "whole batch is rejected and dead-lettered, unemailed. One email per recipient, "
            "message id, recipient language and time zone, recorded after the SMTP server "
            "accepted it, so a batch "
            "retried after a failure sends only what is left; SMTP outages are held and "
            "retried as on the notifier's alert queue (no delivery limit).",
            message_description=ARRIVAL_MESSAGE,
        ),
        Flow(
            title="dead-letters",
            action="receive",
            exchange=dead_letters,
            routing_key="",
            queue=_queue(DEAD_LETTER_QUEUE, ""),
            handler=_receive_dead_letter,
            payload=DeadLetterBody,
            content_type=DEAD_LETTER_CONTENT_TYPE,
            description="What RabbitMQ dead-lettered from an agency's queue or the alerts "
            f"queue: an envelope a gateway refused, or a message that failed {DELIVERY_LIMIT} "
            "redeliveries. No user may publish here. Keeps "
            f"{limits.dead_letters} messages and then refuses more: they wait in their own "
            "queue (at-least-once dead-lettering) until there is room. Read by the operator "
            "with `caselink dlq list|show|requeue|check`, which list each under its signed "
            "header's message id and put it back into the queue it came from, as its "
            "original sender.",
            message_description="The dead-lettered body, byte for byte (its content type is "
            "the original message's).",
            headers=_dead_letter_headers(),
        ),
    ]


def declared_broker(flows: list[Flow]) -> RabbitBroker:
    """A FastStream broker with every flow declared on it; it is never connected."""
    broker = RabbitBroker(SERVER_URL, description=SERVER_DESCRIPTION)
    for flow in flows:
        if flow.action == "send":
            broker.publisher(
                exchange=flow.exchange,
                routing_key=flow.routing_key,
                schema=flow.payload,
                title=flow.title,
                description=flow.description,
                persist=True,
                content_type=flow.content_type,
            )
        else:
            if flow.queue is None or flow.handler is None:
                raise ValueError(f"the receiving flow {flow.title} needs a queue and a handler")
            subscriber = broker.subscriber(
                flow.queue, flow.exchange, title=flow.title, description=flow.description
            )
            subscriber(flow.handler)
    return broker


def _message_of(document: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    [reference] = channel["messages"].values()
    name = unquote(reference["$ref"].rsplit("/", 1)[1])
    message: dict[str, Any] = document["components"]["messages"][name]
    return message


def _complete(document: dict[str, Any], flows: list[Flow]) -> dict[str, Any]:
    for flow in flows:
        channel = document["channels"][flow.title]
        if flow.parameters:
            channel["parameters"] = dict(flow.parameters)
        for binding in channel["bindings"]["amqp"].values():
            if isinstance(binding, dict) and "vhost" in binding:
                binding["vhost"] = DEFAULT_VHOST
        message = _message_of(document, channel)
        message.pop("correlationId", None)
        message["contentType"] = flow.content_type
        message["description"] = flow.message_description
        if flow.headers is not None:
            message["headers"] = flow.headers
    return document


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of Caselink's message flows, as JSON-ready dicts.

    Deterministic: the same code gives the same document. Does not connect to RabbitMQ.
    """
    flows = _flows()
    specification = AsyncAPI(
        declared_broker(flows),
        title="Caselink",
        version=version("caselink"),
        description=DESCRIPTION,
        schema_version=ASYNCAPI_VERSION,
    ).to_specification()
    document: dict[str, Any] = specification.to_jsonable()
    return _complete(document, flows)
