"""The broker port: what services need from a message broker, free of any client library.

`port` (Publisher, Subscription, Delivery and its Settlement, QueueGauge), `settle`
(settling that never raises), `batch_consumer` (the one consumer loop), `watchdog`
(re-subscribing), `alerts` (publishing an alert), `dead_letter_watch` (the near-full
alert), `errors`, `backoff`. Implementations: `broker.amqp` (RabbitMQ) and
`broker.testing` (in memory); the composition roots choose.
"""
