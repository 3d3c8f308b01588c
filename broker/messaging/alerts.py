"""Publishing an alert: the alerts exchange, routed by its level and addressee."""

from broker.messaging.port import Publisher
from broker.topology.names import ALERT_CONTENT_TYPE, ALERTS_EXCHANGE, alert_routing_key
from schemas.alert import Alert


async def publish_alert(publisher: Publisher, alert: Alert) -> None:
    """Publish `alert` on the alerts exchange; raises what Publisher.publish raises."""
    await publisher.publish(
        ALERTS_EXCHANGE,
        alert_routing_key(alert.level.value, alert.agency),
        alert.model_dump_json(exclude_none=True).encode(),
        message_id=alert.alert_id,
        content_type=ALERT_CONTENT_TYPE,
    )
