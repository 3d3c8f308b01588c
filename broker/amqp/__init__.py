"""The broker port on RabbitMQ over aiormq: coalescing connections, publisher, subscription,
queue gauge."""
