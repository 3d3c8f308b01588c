"""The federation's RabbitMQ topology from the directory: names, definitions and their checks."""
