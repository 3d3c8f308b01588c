"""Delivery failures: what every implementation of the broker port raises."""

from broker.errors import CaselinkError


class DeliveryError(CaselinkError):
    """A publish was not confirmed: nacked, returned as unroutable, timed out, or cut off."""

    reason = "delivery_failed"


class Unroutable(DeliveryError):
    """The broker returned a mandatory message: no queue is bound for its routing key."""

    reason = "unroutable"


class BrokerUnavailable(DeliveryError):
    """No usable connection or channel to the broker right now."""

    reason = "broker_unavailable"


class PublishRefused(DeliveryError):
    """The broker refused the publish: not this user's to write (403), no such exchange (404),
    a forged user_id (406), or the login itself (403).

    Not an outage: it lasts until an operator changes the broker's definitions or the
    gateway's settings. `code` is the AMQP reply code.
    """

    reason = "publish_refused"

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class SubscribeRefused(CaselinkError):
    """The broker refused the consumer: not this user's queue (403), or no such queue (404)."""

    reason = "subscribe_refused"

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class QueueLookRefused(CaselinkError):
    """The broker refused a look at a queue's depth: no such queue (404) or no access (403)."""

    reason = "look_refused"

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code
