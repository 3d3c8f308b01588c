"""Who published a delivery: the broker-validated AMQP user_id must be the envelope's sender.

RabbitMQ refuses a publish whose user_id is not the publishing connection's user, so a
user_id that arrives is true. It does not require one: a member agency could leave it out
and replay another agency's signed envelope onto the exchange. Every Caselink gateway sets
it, so a delivery without it is refused (the gateway's inbox and the tracker's tap alike),
before its envelope is opened.
"""

from broker.errors import CaselinkError
from broker.topology.names import Topology


class SenderUnauthenticated(CaselinkError):
    """The delivery carries no AMQP user_id: the broker vouches for no publisher."""

    reason = "sender_unauthenticated"


class SenderMismatch(CaselinkError):
    """The AMQP user that published the message is not the header's signed sender."""

    reason = "sender_mismatch"


def authenticated_publisher(user_id: str | None) -> str:
    """The broker-validated publisher of a delivery; raises SenderUnauthenticated without one."""
    if user_id is None:
        raise SenderUnauthenticated("delivery without user_id: its publisher is not known")
    return user_id


def check_sender(publisher: str, sender: str, message_id: str, topology: Topology) -> None:
    """Raise SenderMismatch unless `publisher` is the RabbitMQ user of the signed `sender`."""
    if publisher != topology.agency_user(sender):
        raise SenderMismatch(f"message {message_id} published by another agency")
