"""TLS for RabbitMQ connections: the one way to build a client's SSLContext, its settings,
and a development certificate authority (`caselink certs dev`), never for production."""
