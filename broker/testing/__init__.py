"""An in-memory broker behind the broker port, shipped for tests (as dramatiq's StubBroker).

Built from the same definitions `caselink topology apply` gives RabbitMQ, and proven to
behave like it by the port's contract tests (tests/contract/test_broker_port.py).
"""

from broker.testing.memory_broker import InMemoryBroker
from broker.testing.memory_clients import InMemoryPublisher, InMemorySubscription

__all__ = ["InMemoryBroker", "InMemoryPublisher", "InMemorySubscription"]
