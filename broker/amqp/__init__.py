"""RabbitMQ over aiormq: coalescing connections, confirmed publishing, queue subscriptions."""
