"""RabbitMQ: topology as pure functions of the directory, and the I/O that applies them."""
