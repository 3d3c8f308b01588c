"""Shared test set-up: service markers that skip locally and fail in CI."""

import importlib.util
import os
import socket
from pathlib import Path

import pytest

SERVICES = {
    "rabbitmq": ("127.0.0.1", 5672),
    "postgres": ("127.0.0.1", 5432),
}
CHROMIUM = Path("/usr/bin/chromium")


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
    if item.get_closest_marker("browser") is not None:
        reason = _browser_missing()
        if reason is not None and os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: browser tests must run)")
        if reason is not None:
            pytest.skip(reason)


def _browser_missing() -> str | None:
    # Debian's Chromium (`make browser`), never Playwright's download: it needs the internet.
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make browser installs it)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None
