"""ack_all: one multiple-ack per channel; a channel closed under it is skipped, not fatal."""

from typing import Any, cast

from aiormq.abc import AbstractChannel

from broker.amqp.subscription import Delivery, ack_all


class Channel:
    """Records basic.ack calls, as an aiormq channel would send them."""

    def __init__(self, acked: list[tuple[int, bool]], *, closed: bool = False) -> None:
        self.acked, self.is_closed = acked, closed

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acked.append((delivery_tag, multiple))


def delivery(channel: Channel, tag: int) -> Delivery:
    return Delivery(
        body=b"",
        message_id=None,
        user_id=None,
        routing_key="",
        delivery_tag=tag,
        channel=cast(AbstractChannel, cast(Any, channel)),
    )


async def test_the_highest_tag_of_each_channel_is_acked_once_with_multiple() -> None:
    acked: list[tuple[int, bool]] = []
    first, second = Channel(acked), Channel(acked)
    await ack_all([delivery(first, 3), delivery(first, 7), delivery(second, 2), delivery(first, 5)])
    assert sorted(acked) == [(2, True), (7, True)]


async def test_deliveries_of_a_closed_channel_are_skipped_and_the_rest_acked() -> None:
    acked: list[tuple[int, bool]] = []
    closed, live = Channel(acked, closed=True), Channel(acked)
    await ack_all([delivery(closed, 9), delivery(live, 4), delivery(closed, 10)])
    assert acked == [(4, True)]
