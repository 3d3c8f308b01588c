"""The federation's RabbitMQ topology: names, definitions and their checks, and its contract.

`asyncapi.py` writes the AsyncAPI document of the message flows; it alone imports FastStream.
"""
