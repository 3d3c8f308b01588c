"""Fixtures shared by the tests that run gateways and trackers on the real RabbitMQ."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.gateway_harness import KeyedFederation, keyed_federation


@pytest.fixture
async def keyed(tmp_path: Path) -> AsyncIterator[KeyedFederation]:
    """A keyed federation in its own vhost, with its own users; removed afterwards."""
    async with keyed_federation(tmp_path / "secrets.json") as federation:
        yield federation
