"""Shared test set-up: service markers that skip locally and fail in CI."""

import os
import socket

import pytest

SERVICES = {
    "rabbitmq": ("127.0.0.1", 5672),
    "postgres": ("127.0.0.1", 5432),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test that needs a service skips when it is absent, unless CI=true: then it fails."""
    for marker, address in SERVICES.items():
        if item.get_closest_marker(marker) is None or _reachable(*address):
            continue
        message = f"{marker} is not reachable on {address[0]}:{address[1]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message} (CI=true: service tests must run)")
        pytest.skip(message)
