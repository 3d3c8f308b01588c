"""ack_all: one multiple-ack per channel; a channel closed under it is skipped, not fatal."""

from typing import Any, cast

from aiormq.exceptions import ChannelInvalidStateError

from broker.transport.subscription import Delivery, ack_all


class Channel:
    pass


class RawMessage:
    def __init__(self, channel: Channel | None, tag: int, acked: list[tuple[int, bool]]) -> None:
        self._channel, self.delivery_tag, self._acked = channel, tag, acked

    @property
    def channel(self) -> Channel:
        if self._channel is None:
            raise ChannelInvalidStateError  # what aio-pika does once the channel is closed
        return self._channel

    async def ack(self, multiple: bool = False) -> None:
        self._acked.append((self.delivery_tag, multiple))


class FakeDelivery:
    def __init__(self, raw_message: RawMessage) -> None:
        self.raw_message = raw_message


def deliveries(*specs: tuple[Channel | None, int], acked: list[tuple[int, bool]]) -> Any:
    return [cast(Delivery, FakeDelivery(RawMessage(ch, tag, acked))) for ch, tag in specs]


async def test_the_highest_tag_of_each_channel_is_acked_once_with_multiple() -> None:
    first, second, acked = Channel(), Channel(), []
    await ack_all(deliveries((first, 3), (first, 7), (second, 2), (first, 5), acked=acked))
    assert sorted(acked) == [(2, True), (7, True)]


async def test_deliveries_of_a_closed_channel_are_skipped_and_the_rest_acked() -> None:
    live, acked = Channel(), []
    await ack_all(deliveries((None, 9), (live, 4), (None, 10), acked=acked))
    assert acked == [(4, True)]
