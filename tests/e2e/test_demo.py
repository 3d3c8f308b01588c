"""`caselink demo --once` on the real RabbitMQ: the whole federation set up from nothing,
the scenario run through each agency's adapter, exit 0 only when every expected outcome was
observed; then a second run's set-up replaces the first one's state cleanly."""

import subprocess
import sys
from pathlib import Path

import pytest

from adapters.demo.federation import AGENCIES, VHOST
from adapters.demo.processes import stop_leftovers
from adapters.demo.state import TOPOLOGY, create_state, demo_agency_ids, remove_previous
from broker.operator.apply import delete_topology, export_live

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

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
        # A second run's set-up replaces the first run's state (the scenario is not run twice:
        # it takes minutes).
        marker = folder / "left-by-the-first-run"
        marker.write_text("")
        assert stop_leftovers(folder) == 0  # the first run stopped its services
        remove_previous(folder)
        state = create_state(folder)
        assert not marker.exists()
        assert state.gateway_config(AGENCIES[0]).exists()
    finally:
        delete_topology(TOPOLOGY, demo_agency_ids())
    assert VHOST not in {v["name"] for v in export_live().get("vhosts", [])}
