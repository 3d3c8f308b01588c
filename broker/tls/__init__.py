"""TLS: for RabbitMQ connections, the one way to build a client's SSLContext, its settings,
and a development certificate authority (`caselink certs dev`, never for production); for
the gateways' and the dashboard's HTTPS, the server's context checked at start (`server`)."""
