"""Property: for one thread, the gateways and the tracker never show different stages.

Two gateways (the sender's and the recipient's, on memory stores) and the tracker's fold
see the same messages of one referral or transfer: the original, the recipient's automatic
`received`, its people's answers (which its gateway may refuse, and then sends nothing), the
sender's acknowledgements of any status, a stranger's, a non-conforming recipient's sent
around its gateway, and repeats of any of them. After every step the recipient's inbox (once
it holds the message, and while the recipient conforms), the sender's sent status and the
tracker's phase stand for the same `broker.lifecycle` stage.

Messages are issued one second apart in the order of the steps: the gateways apply them in
that order, the tracker sorts them by issue time, so both see one order. (Two parties
answering at once, each before seeing the other's message, is a race that no order can
settle for both; it is outside this property.)
"""

import asyncio
from dataclasses import dataclass, field

from hypothesis import example, given, settings
from hypothesis import strategies as st

from broker.gateway.lifecycle import ack_status_to_state, stage
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import InboxMessage, InboxState, Received
from broker.lifecycle import UnknownAckStatus
from broker.tracker.events import TrackedEvent
from broker.tracker.state import Phase, thread_state
from schemas.kinds import AckStatus, MessageKind
from tests.gateway_records import answer, incoming, new_id, outgoing

SENDER, RECIPIENT, STRANGER = "social-north", "hospital-east", "police-west"
STATUSES = [*(status.value for status in AckStatus), "nonsense"]

any_status = st.sampled_from(STATUSES)
answers = st.sampled_from(["accepted", "planned", "declined", "redirected", "completed"])
# Each kind of step about as likely as the others, and the meaningful statuses most likely
# for each party, so that short scripts reach every stage and every refusal.
steps = st.lists(
    st.one_of(
        st.just(("deliver", "")),
        st.tuples(st.just("respond"), st.one_of(answers, any_status)),
        st.tuples(st.just("sender"), st.one_of(st.just("withdrawn"), any_status)),
        st.tuples(st.just("stranger"), any_status),
        st.tuples(st.just("rogue"), st.one_of(answers, any_status)),
        st.tuples(st.just("repeat"), st.integers(min_value=0, max_value=20).map(str)),
    ),
    max_size=12,
)


@dataclass(frozen=True)
class Wire:
    """One acknowledgement on the wire: who sent it, with what status, when."""

    message_id: str
    sender: str
    status: str
    at: int


@dataclass
class World:
    """One thread between two gateways, and the events the tracker saw of it."""

    kind: str
    thread_id: str = field(default_factory=new_id)
    original_id: str = field(default_factory=new_id)
    at: int = 0
    delivered: bool = False
    conforming: bool = True
    sent_store: MemoryGatewayStore = field(default_factory=MemoryGatewayStore)
    inbox_store: MemoryGatewayStore = field(default_factory=MemoryGatewayStore)
    wire: list[Wire] = field(default_factory=list)
    events: list[TrackedEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.events.append(self._event(self.original_id, SENDER, None, 0, kind=self.kind))

    async def start(self) -> None:
        original = outgoing(
            kind=self.kind,
            message_id=self.original_id,
            thread_id=self.thread_id,
            recipient=RECIPIENT,
            created_at=0.0,
        )
        await self.sent_store.enqueue([original])

    async def step(self, action: str, argument: str) -> None:
        self.at += 1
        if action == "deliver":
            await self._deliver()
        elif action == "respond":
            await self._respond(argument)
        elif action == "repeat" and self.wire:
            await self._carry(self.wire[int(argument) % len(self.wire)])
        elif action == "sender":
            ack = outgoing(
                kind="acknowledgement",
                thread_id=self.thread_id,
                recipient=RECIPIENT,
                in_reply_to=self.original_id,
                status=argument,
                created_at=float(self.at),
            )
            await self.sent_store.enqueue([ack])
            await self._send(Wire(ack.message_id, SENDER, argument, self.at))
        elif action == "stranger":
            await self._send(Wire(new_id(), STRANGER, argument, self.at))
        elif action == "rogue":
            self.conforming = False
            await self._send(Wire(new_id(), RECIPIENT, argument, self.at))

    async def _deliver(self) -> None:
        message = self._received()
        received = answer(message, AckStatus.RECEIVED.value)
        [stored] = await self.inbox_store.store_received([Received(message, received)])
        self.delivered = True
        if stored:
            await self._send(Wire(received.message_id, RECIPIENT, AckStatus.RECEIVED, self.at))

    async def _respond(self, status: str) -> None:
        try:
            target = ack_status_to_state(status)
        except UnknownAckStatus:
            return
        message = self._received()
        reply = answer(message, status)
        try:
            await self.inbox_store.respond(self.original_id, target, reply)
        except (KeyError, ValueError):
            return  # refused (or not delivered yet): the gateway sends nothing
        await self._send(Wire(reply.message_id, RECIPIENT, status, self.at))

    async def _send(self, wire: Wire) -> None:
        self.wire.append(wire)
        await self._carry(wire)

    async def _carry(self, wire: Wire) -> None:
        """Hand `wire` to the gateways it is addressed to and to the tracker."""
        inbox = incoming(
            kind="acknowledgement",
            message_id=wire.message_id,
            thread_id=self.thread_id,
            sender=wire.sender,
            in_reply_to=self.original_id,
            status=wire.status,
            received_at=float(wire.at),
            state=InboxState.INFORMATIONAL,
        )
        if wire.sender != SENDER:
            await self.sent_store.store_received([Received(inbox, None)])
        if wire.sender != RECIPIENT:
            await self.inbox_store.store_received([Received(inbox, None)])
        self.events.append(self._event(wire.message_id, wire.sender, wire.status, wire.at))

    def _received(self) -> InboxMessage:
        return incoming(
            kind=self.kind,
            message_id=self.original_id,
            thread_id=self.thread_id,
            sender=SENDER,
            received_at=float(self.at),
        )

    def _event(
        self,
        message_id: str,
        sender: str,
        status: str | None,
        at: int,
        kind: str = "acknowledgement",
    ) -> TrackedEvent:
        original = status is None
        return TrackedEvent(
            message_id=message_id,
            thread_id=self.thread_id,
            kind=MessageKind(kind),
            sender=sender,
            recipient=RECIPIENT if sender != RECIPIENT else SENDER,
            issued_at=at,
            in_reply_to=None if original else self.original_id,
            status=status,
        )

    async def views(self) -> tuple[Phase, Phase, Phase | None]:
        """(tracker, sender's sent status, recipient's inbox or None when not comparable)."""
        tracker = thread_state(self.thread_id, self.events).phase
        sent = await self.sent_store.sent_message(self.original_id)
        assert sent is not None
        assert sent.stage is not None
        held = await self.inbox_store.inbox_message(self.original_id)
        recipient = None
        if self.conforming and self.delivered and held is not None:
            shown = stage(held.state)
            assert shown is not None
            recipient = Phase(shown.value)
        return tracker, Phase(sent.stage.value), recipient


@settings(max_examples=1000, deadline=None)
@given(kind=st.sampled_from(["referral", "transfer"]), script=steps)
# The case the gateway and the tracker used to disagree on: an accepted transfer withdrawn.
@example("transfer", [("deliver", ""), ("respond", "accepted"), ("sender", "withdrawn")])
# A plan recorded, then the sender's withdrawal (a referral's only) and a completion.
@example(
    "referral",
    [("deliver", ""), ("respond", "accepted"), ("respond", "planned"), ("sender", "withdrawn")],
)
@example(
    "transfer",
    [
        ("deliver", ""),
        ("respond", "accepted"),
        ("respond", "planned"),
        ("sender", "withdrawn"),
        ("respond", "completed"),
        ("rogue", "planned"),
    ],
)
def test_gateways_and_tracker_never_differ(kind: str, script: list[tuple[str, str]]) -> None:
    async def run() -> None:
        world = World(kind)
        await world.start()
        for action, argument in script:
            await world.step(action, argument)
            tracker, sender, recipient = await world.views()
            assert sender == tracker, (action, argument)
            assert recipient in (None, tracker), (action, argument)

    asyncio.run(run())
