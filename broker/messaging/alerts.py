"""Publishing an alert: the alerts exchange, routed by its level and addressee."""

import uuid
from collections.abc import Sequence

from broker.logs import get_logger
from broker.messaging.errors import DeliveryError
from broker.messaging.port import Publisher
from broker.topology.names import ALERT_CONTENT_TYPE, ALERTS_EXCHANGE, alert_routing_key
from schemas.alert import Alert, directory_refused_alert

log = get_logger(__name__)


async def publish_alert(publisher: Publisher, alert: Alert) -> None:
    """Publish `alert` on the alerts exchange; raises what Publisher.publish raises."""
    await publisher.publish(
        ALERTS_EXCHANGE,
        alert_routing_key(alert.level.value, alert.agency),
        alert.model_dump_json(exclude_none=True).encode(),
        message_id=alert.alert_id,
        content_type=ALERT_CONTENT_TYPE,
    )


async def announce_directory_refused(
    publisher: Publisher, addressees: Sequence[str], reason: str, now: float
) -> None:
    """A `directory_refused` alert to each addressee; never raises (the refusal is logged
    already, and the directory in force stays whether or not the alert goes out)."""
    try:
        for agency in addressees:
            alert = directory_refused_alert(
                alert_id=str(uuid.uuid4()), agency=agency, reason=reason, raised_at=int(now)
            )
            await publish_alert(publisher, alert)
    except DeliveryError as error:
        log.warning("directory refusal not alerted", reason=error.reason)
