"""Settling deliveries without ever raising: a lost session only means a redelivery.

Every consumer here stores by message id, so a redelivery is harmless; a consumer must not
crash because the broker went away between receiving and settling.
"""

from collections.abc import Hashable, Sequence

from broker.logs import get_logger
from broker.messaging.port import Delivery

log = get_logger(__name__)


async def ack(delivery: Delivery) -> None:
    """Ack one delivery (alone: others of its session may still be in work)."""
    try:
        await delivery.settlement.ack()
    except Exception as error:
        log.warning("could not ack; it will be redelivered", reason=type(error).__name__)


async def requeue(delivery: Delivery) -> None:
    """Give a delivery back to the queue; the delivery limit turns poison into a dead letter."""
    try:
        await delivery.settlement.requeue()
    except Exception as error:
        log.warning("could not requeue; it will be redelivered", reason=type(error).__name__)


async def dead_letter(delivery: Delivery) -> None:
    """Send a delivery to its queue's dead-letter exchange."""
    try:
        await delivery.settlement.dead_letter()
    except Exception as error:
        log.warning("could not dead-letter; it will be redelivered", reason=type(error).__name__)


async def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Ack every delivery of a processed batch with one multiple-ack per session.

    Everything below the highest tag of a session must be settled or in `deliveries`: true
    for a consumer that settles batch by batch in delivery order, as ours do.
    """
    highest: dict[Hashable, Delivery] = {}
    for delivery in deliveries:
        settlement = delivery.settlement
        if not settlement.is_open():
            continue  # nothing can be acked on it; the broker redelivers what it held
        known = highest.get(settlement.session)
        if known is None or settlement.tag > known.settlement.tag:
            highest[settlement.session] = delivery
    for delivery in highest.values():
        try:
            await delivery.settlement.ack(multiple=True)
        except Exception as error:
            log.warning(
                "could not ack a batch; it will be redelivered",
                reason=type(error).__name__,
                count=len(deliveries),
            )
