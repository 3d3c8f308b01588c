"""`caselink demo --once` on the real RabbitMQ: the whole federation set up from nothing,
the scenario run through each agency's adapter (and, for the agency with no system, in
headless Chromium), exit 0 only when every expected outcome was observed; then a second
run's set-up replaces the first one's state cleanly."""

import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from adapters.demo.federation import AGENCIES, DUTY_WORKER, SOCIAL_C, VHOST
from adapters.demo.processes import stop_leftovers
from adapters.demo.state import TOPOLOGY, create_state, demo_agency_ids, remove_previous
from broker.operator.apply import delete_topology, export_live

pytestmark = [pytest.mark.rabbitmq, pytest.mark.browser, pytest.mark.slow]

RUN_TIMEOUT_S = 420


def demo(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "demo", "--once", "--folder", str(folder)],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def test_the_demo_runs_its_scenario_and_a_second_run_replaces_the_first(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    try:
        first = demo(folder)
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        assert "Traceback" not in first.stdout + first.stderr
        assert "Dashboard: http://127.0.0.1:" in first.stdout
        # The agency with no system answered in the browser; the end names its pages.
        assert "✓ the duty social worker accepts it in the browser" in first.stdout
        assert "✓ the coordinators' charts drawn" in first.stdout
        assert f"inbox pages: {SOCIAL_C.inbox_page}" in first.stdout
        assert f"    {DUTY_WORKER}        password: " in first.stdout
        # A second run's set-up replaces the first run's state (the scenario is not run twice:
        # it takes minutes).
        marker = folder / "left-by-the-first-run"
        marker.write_text("")
        assert stop_leftovers(folder) == 0  # the first run stopped its services
        remove_previous(folder)
        state = create_state(folder)
        assert not marker.exists()
        assert state.gateway_config(AGENCIES[0]).exists()
        browser_only(state.gateway_folder(SOCIAL_C))
    finally:
        delete_topology(TOPOLOGY, demo_agency_ids())
    assert VHOST not in {v["name"] for v in export_live().get("vhosts", [])}


def browser_only(folder: Path) -> None:
    """The agency with no system: one person, a password and no token, no adapter, the
    users file and session secret private like every gateway's."""
    users_file = folder / "users.toml"
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "session-secret").stat().st_mode) == 0o600
    users = tomllib.loads(users_file.read_text())["users"]
    assert [(u["name"], u["role"]) for u in users] == [(DUTY_WORKER, "caseworker")]
    assert "password_hash" in users[0]
    assert "token_hash" not in users[0]
    settings = tomllib.loads((folder / "gateway.toml").read_text())
    assert "adapters" not in settings
    assert settings["session_secret_file"] == "session-secret"
