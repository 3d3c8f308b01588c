"""ack_all: one multiple-ack per session; a session closed under it is skipped, not fatal."""

from dataclasses import dataclass

from broker.messaging.port import Delivery
from broker.messaging.settle import ack, ack_all


@dataclass(eq=False)
class Session:
    """Records acks as (tag, multiple), as a broker would receive them."""

    acked: list[tuple[int, bool]]
    closed: bool = False


@dataclass(frozen=True)
class Settlement:
    owner: Session
    tag: int

    @property
    def session(self) -> Session:
        return self.owner

    def is_open(self) -> bool:
        return not self.owner.closed

    async def ack(self, *, multiple: bool = False) -> None:
        if self.owner.closed:
            raise ConnectionError("the channel is closed")
        self.owner.acked.append((self.tag, multiple))

    async def requeue(self) -> None:
        raise NotImplementedError

    async def dead_letter(self) -> None:
        raise NotImplementedError


def delivery(session: Session, tag: int) -> Delivery:
    return Delivery(
        body=b"",
        message_id=None,
        user_id=None,
        routing_key="",
        headers={},
        settlement=Settlement(session, tag),
    )


async def test_the_highest_tag_of_each_session_is_acked_once_with_multiple() -> None:
    acked: list[tuple[int, bool]] = []
    first, second = Session(acked), Session(acked)
    await ack_all([delivery(first, 3), delivery(first, 7), delivery(second, 2), delivery(first, 5)])
    assert sorted(acked) == [(2, True), (7, True)]


async def test_deliveries_of_a_closed_session_are_skipped_and_the_rest_acked() -> None:
    acked: list[tuple[int, bool]] = []
    closed, live = Session(acked, closed=True), Session(acked)
    await ack_all([delivery(closed, 9), delivery(live, 4), delivery(closed, 10)])
    assert acked == [(4, True)]


async def test_an_ack_on_a_lost_session_is_logged_not_raised() -> None:
    acked: list[tuple[int, bool]] = []
    await ack(delivery(Session(acked, closed=True), 1))
    assert acked == []
