"""The broker's state in memory: exchanges, bindings, queues, sessions and dead-lettering.

Modelled on what RabbitMQ does with Caselink's definitions (quorum queues), as the contract
tests found it on RabbitMQ 3.10 (version 4 changed some of it: run them after an upgrade).
A message returned to its queue (requeued, or unsettled when its consumer's session
closed) goes back to the head of the queue and counts one more delivery; past
`x-delivery-limit` it is dead-lettered with reason `delivery_limit` (an explicit
dead-letter says `rejected`).
A dead letter keeps its routing key and carries `x-death` and `x-first-death-*` headers.
`x-single-active-consumer` gives every delivery to the oldest consumer.

Not modelled: permissions other than the `user_id` check, queue length limits and their
overflow, message TTLs, and the ordering of deliveries across queues.
"""

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from broker.messaging.errors import BrokerUnavailable, PublishRefused, SubscribeRefused, Unroutable
from broker.testing.topic import topic_matches

DEFAULT_EXCHANGE = ""


@dataclass(frozen=True)
class Message:
    """A published message as a queue holds it."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str | None
    user_id: str | None
    content_type: str | None
    headers: Mapping[str, Any]
    delivered: int = 0  # deliveries that ended back in the queue


@dataclass
class Queue:
    """A durable queue as its definition declares it."""

    name: str
    arguments: Mapping[str, Any]
    ready: deque[Message] = field(default_factory=deque)
    consumers: list["Session"] = field(default_factory=list)

    @property
    def delivery_limit(self) -> int | None:
        limit = self.arguments.get("x-delivery-limit")
        return None if limit is None else int(limit)

    @property
    def quorum(self) -> bool:
        return self.arguments.get("x-queue-type") == "quorum"


@dataclass(frozen=True)
class Binding:
    exchange: str
    queue: str
    key: str


class Session:
    """One consumer on one queue (RabbitMQ: a channel with one consumer)."""

    def __init__(self, broker: "InMemoryBroker", queue: Queue, prefetch: int) -> None:
        self.broker = broker
        self.queue = queue
        self.prefetch = prefetch
        self.open = True
        self.unsettled: dict[int, Message] = {}
        self.inbox: deque[tuple[int, Message]] = deque()
        self.on_delivery: list[Any] = []  # callables notified after deliveries
        self._next_tag = 1

    def take(self, message: Message) -> None:
        tag, self._next_tag = self._next_tag, self._next_tag + 1
        self.unsettled[tag] = message
        self.inbox.append((tag, message))

    def has_room(self) -> bool:
        return self.open and (self.prefetch == 0 or len(self.unsettled) < self.prefetch)

    def settle(self, tag: int, *, outcome: str, multiple: bool = False) -> None:
        """Ack, requeue or dead-letter; an unknown tag closes the session, as in RabbitMQ."""
        if not self.open:
            raise BrokerUnavailable("the session is closed")
        if tag not in self.unsettled:
            # RabbitMQ closes the channel (PRECONDITION_FAILED, unknown delivery tag).
            self.broker.close_session(self)
            return
        tags = [t for t in self.unsettled if t <= tag] if multiple else [tag]
        for settled in tags:
            message = self.unsettled.pop(settled)
            if outcome == "requeue":
                self.broker.return_to_queue(self.queue, [message])
            elif outcome == "dead_letter":
                self.broker.dead_letter(self.queue, message, "rejected")
        self.broker.dispatch(self.queue)


class InMemoryBroker:
    """Exchanges, queues and bindings declared up front; see the module docstring."""

    def __init__(self) -> None:
        self.exchanges: dict[str, str] = {DEFAULT_EXCHANGE: "direct"}
        self.queues: dict[str, Queue] = {}
        self.bindings: list[Binding] = []
        self.users: set[str] = set()
        self._change = asyncio.Event()

    @classmethod
    def from_definitions(cls, definitions: Mapping[str, Any]) -> "InMemoryBroker":
        """A broker holding what `caselink topology apply` would give RabbitMQ."""
        broker = cls()
        for user in definitions.get("users", []):
            broker.add_user(user["name"])
        for exchange in definitions.get("exchanges", []):
            broker.declare_exchange(exchange["name"], exchange["type"])
        for queue in definitions.get("queues", []):
            broker.declare_queue(queue["name"], queue.get("arguments", {}))
        for binding in definitions.get("bindings", []):
            broker.bind(binding["source"], binding["destination"], binding["routing_key"])
        return broker

    def add_user(self, name: str) -> None:
        self.users.add(name)

    def declare_exchange(self, name: str, kind: str) -> None:
        if kind not in ("topic", "fanout", "direct"):
            raise ValueError(f"exchange type {kind} is not modelled")
        self.exchanges[name] = kind

    def declare_queue(self, name: str, arguments: Mapping[str, Any] | None = None) -> None:
        self.queues[name] = Queue(name, dict(arguments or {}))

    def bind(self, exchange: str, queue: str, key: str) -> None:
        self.bindings.append(Binding(exchange, queue, key))

    def ready(self, queue: str) -> int:
        """Messages waiting in `queue`, not delivered to a consumer (RabbitMQ's `ready`)."""
        return len(self.queues[queue].ready)

    async def settled(self, queue: str) -> None:
        """Wait until `queue` holds nothing: every message delivered and settled."""
        while self._holds(self.queues[queue]):
            await self.changed()

    async def changed(self) -> None:
        """Wait for the next change of state (a publish, a delivery, a settlement)."""
        await self._change.wait()

    def _holds(self, queue: Queue) -> bool:
        return bool(queue.ready) or any(session.unsettled for session in queue.consumers)

    def messages(self, queue: str) -> list[Message]:
        """The messages waiting in `queue`, head first."""
        return list(self.queues[queue].ready)

    def publish(self, user: str, exchange: str, routing_key: str, message: Message) -> None:
        """Route `message` (mandatory) to every matching queue; raises as the port says."""
        if user not in self.users:
            raise PublishRefused(f"login refused for {user}", code=403)
        if message.user_id is not None and message.user_id != user:
            # RabbitMQ closes the channel: PRECONDITION_FAILED, user_id is not the user.
            raise PublishRefused("the broker closed the channel: user_id is not the user", code=406)
        if exchange not in self.exchanges:
            raise PublishRefused(f"the broker closed the channel: no exchange {exchange}", code=404)
        targets = self._route(exchange, routing_key)
        if not targets:
            raise Unroutable(f"message {message.message_id} returned by the broker: unroutable")
        for queue in targets:
            self._enqueue(queue, message)

    def _route(self, exchange: str, routing_key: str) -> list[Queue]:
        if exchange == DEFAULT_EXCHANGE:
            queue = self.queues.get(routing_key)
            return [] if queue is None else [queue]
        kind = self.exchanges[exchange]
        names: list[str] = []
        for binding in self.bindings:
            if binding.exchange != exchange or binding.queue in names:
                continue
            if (
                kind == "fanout"
                or (kind == "direct" and binding.key == routing_key)
                or (kind == "topic" and topic_matches(binding.key, routing_key))
            ):
                names.append(binding.queue)
        return [self.queues[name] for name in names]

    def _enqueue(self, queue: Queue, message: Message) -> None:
        queue.ready.append(replace(message, delivered=0))
        self.dispatch(queue)

    def return_to_queue(self, queue: Queue, messages: list[Message]) -> None:
        """Back to the head of the queue, in order, one delivery more; dead past the limit."""
        limit = queue.delivery_limit
        back: list[Message] = []
        for message in messages:
            counted = replace(message, delivered=message.delivered + 1)
            if limit is not None and counted.delivered > limit:
                self.dead_letter(queue, counted, "delivery_limit")
            else:
                back.append(counted)
        queue.ready.extendleft(reversed(back))

    def dead_letter(self, queue: Queue, message: Message, reason: str) -> None:
        """To the queue's dead-letter exchange with x-death; dropped when it has none."""
        exchange = queue.arguments.get("x-dead-letter-exchange")
        if exchange is None or exchange not in self.exchanges:
            return
        headers = dict(message.headers)
        death = {
            "count": 1,
            "reason": reason,
            "queue": queue.name,
            "exchange": message.exchange,
            "routing-keys": [message.routing_key],
        }
        headers["x-death"] = [death, *headers.get("x-death", [])]
        headers.setdefault("x-first-death-exchange", message.exchange)
        headers.setdefault("x-first-death-queue", queue.name)
        headers.setdefault("x-first-death-reason", reason)
        dead = replace(message, exchange=exchange, headers=headers)
        for target in self._route(exchange, message.routing_key):
            self._enqueue(target, dead)

    def open_session(self, queue: str, prefetch: int) -> Session:
        """A consumer on `queue`; raises SubscribeRefused when there is no such queue."""
        found = self.queues.get(queue)
        if found is None:
            raise SubscribeRefused(f"the broker closed the channel: no queue {queue}", code=404)
        session = Session(self, found, prefetch)
        found.consumers.append(session)
        self.dispatch(found)
        return session

    def close_session(self, session: Session) -> None:
        """The consumer is gone: what it held goes back to the queue, counted."""
        if not session.open:
            return
        session.open = False
        session.queue.consumers.remove(session)
        held, session.unsettled = list(session.unsettled.values()), {}
        self.return_to_queue(session.queue, held)
        for notify in session.on_delivery:
            notify()
        self.dispatch(session.queue)

    def dispatch(self, queue: Queue) -> None:
        """Deliver ready messages to consumers with room, in turn; all to the oldest if single."""
        single = _single_active(queue)
        delivered: list[Session] = []
        while queue.ready:
            candidates = queue.consumers[:1] if single else queue.consumers
            session = next((s for s in candidates if s.has_room()), None)
            if session is None:
                break
            session.take(queue.ready.popleft())
            if session not in delivered:
                delivered.append(session)
            if not single:  # round robin: the next message goes to the next consumer
                queue.consumers.remove(session)
                queue.consumers.append(session)
        for session in delivered:
            for notify in session.on_delivery:
                notify()
        # Every change of state ends here: wake whoever waits in settled().
        self._change.set()
        self._change = asyncio.Event()


def _single_active(queue: Queue) -> bool:
    return bool(queue.arguments.get("x-single-active-consumer"))
