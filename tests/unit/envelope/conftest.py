"""Envelope test fixtures: one federation per session (keys are test-only, never written)."""

import pytest

from tests.unit.envelope.federation import Federation, make_federation


@pytest.fixture(scope="session")
def fed() -> Federation:
    return make_federation()
