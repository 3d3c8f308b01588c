"""The demo's services as their own processes: one `caselink gateway` per agency and the
tracker, each logging to a file of its own, stopped together.

The pids are kept in the demo's folder so that the next run stops what this one left
(after a kill -9 of the demo itself, say) before it replaces the folder.
"""

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from broker.errors import CaselinkError
from broker.keystore import replace_private

PIDS_FILE = "pids.json"
STOP_WAIT_S = 20.0


class ServiceDidNotStart(CaselinkError):
    """A demo service exited, or did not answer /healthz in time; its log says why."""

    reason = "service_did_not_start"


@dataclass
class Service:
    """One running service: its name, the command's process, its log and health URL."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    health_url: str | None  # None: a service with no HTTP side (the notifier)


def start(name: str, verb: str, config: Path, log: Path, health_url: str | None) -> Service:
    """`caselink <verb> --config CONFIG`, its output in `log`."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 (fixed argv, no shell)
            [sys.executable, "-m", "broker.cli", verb, "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return Service(name, process, log, health_url)


async def wait_healthy(service: Service, timeout_s: float = 60.0) -> None:
    """Until /healthz answers ok (no health URL: still running a moment after its start);
    raises ServiceDidNotStart (one line, the log named)."""
    if service.health_url is None:
        await asyncio.sleep(2.0)
        if service.process.poll() is not None:
            raise ServiceDidNotStart(
                f"{service.name} exited with {service.process.returncode}; see {service.log}"
            )
        return
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            if service.process.poll() is not None:
                raise ServiceDidNotStart(
                    f"{service.name} exited with {service.process.returncode}; see {service.log}"
                )
            try:
                answer = await client.get(service.health_url)
                if answer.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise ServiceDidNotStart(f"{service.name} not healthy in time; see {service.log}")
            await asyncio.sleep(0.25)


def remember(folder: Path, services: Iterable[Service]) -> None:
    replace_private(folder / PIDS_FILE, json.dumps([s.process.pid for s in services]).encode())


def stop_all(services: Iterable[Service]) -> None:
    """SIGTERM to each, then wait; SIGKILL what is still there after STOP_WAIT_S."""
    running = [s for s in services if s.process.poll() is None]
    for service in running:
        service.process.send_signal(signal.SIGTERM)
    for service in running:
        try:
            service.process.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()


def stop_leftovers(folder: Path) -> int:
    """Stop the services a previous run recorded in `folder` that still run, and wait for
    them to exit; returns how many there were."""
    recorded = folder / PIDS_FILE
    if not recorded.exists():
        return 0
    try:
        pids = [int(pid) for pid in json.loads(recorded.read_text())]
    except (ValueError, TypeError):  # a damaged file names no process to stop
        return 0
    running = [pid for pid in pids if _is_caselink(pid)]
    for pid in running:
        with contextlib.suppress(ProcessLookupError):  # it may have exited since
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    while any(_is_caselink(pid) for pid in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in running:
        if _is_caselink(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return len(running)


def _is_caselink(pid: int) -> bool:
    # Only a process that is still a caselink command: the pid may have been reused.
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"broker.cli" in command
