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
