"""`caselink tracker --config` as operators run it: its own process, header workers and all."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from broker.keystore import write_private
from broker.people.passwords import hash_password
from broker.store.tracker_store import SqlTrackerStore
from broker.topology.names import ALERTS_QUEUE, DEAD_LETTER_EXCHANGE
from schemas.alert import Alert, AlertReason
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import publish, take
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    healthy,
    make_gateway,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B, COORDINATOR = "oscc-north", "social-east", "police-west"
DEAD_LETTER_BOUND = 5


def tracker_config(keyed: KeyedFederation, folder: Path, port: int) -> Path:
    """Write what `caselink tracker --config` needs into `folder`."""
    keyed.write_directory_files(folder)
    write_private(folder / "secret", os.urandom(32).hex().encode())
    users = (
        f'[[users]]\nname = "coord"\nrole = "coordinator"\n'
        f'password_hash = "{hash_password("synthetic pass")}"\n'
    )
    write_private(folder / "users.toml", users.encode())
    topology = keyed.federation.topology
    settings = (
        f'amqp_url = "{keyed.federation.tracker_url()}"\n'
        'directory = "directory.json"\nroot_pub = "root.pub.json"\n'
        f'store_url = "sqlite+aiosqlite:///{folder / "tracker.db"}"\n'
        f'coordinators = ["{COORDINATOR}"]\n'
        'users_file = "users.toml"\nsession_secret_file = "secret"\n'
        f'listen = "127.0.0.1:{port}"\n'
        f'user_prefix = "{topology.user_prefix}"\n'
        "secure_cookie = false\n"
        # Near full from 4 dead letters, looked at twice a second (the queue's own bound is
        # the federation's default; only the tracker's reading of it is small here).
        f"dead_letter_bound = {DEAD_LETTER_BOUND}\ndead_letter_look_s = 0.5\n"
    )
    config = folder / "tracker.toml"
    write_private(config, settings.encode())  # it holds the tracker's RabbitMQ password
    return config


def children_of(pid: int) -> set[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return {int(line) for line in found.stdout.split()}


def running_pids(pids: set[int]) -> set[int]:
    return {pid for pid in pids if os.path.exists(f"/proc/{pid}")}


@contextmanager
def tracker_process(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`caselink tracker --config`, stopped with SIGTERM (as systemd would) on the way out."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "tracker", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


async def test_the_tracker_process_tracks_a_referral_and_stops_with_its_workers(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    port = free_port()
    config = tracker_config(keyed, tmp_path, port)
    store = SqlTrackerStore(f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")

    log = tmp_path / "tracker.log"
    with tracker_process(config, log) as tracker:
        await eventually(lambda: healthy(port), "the tracker consuming the tap", timeout_s=60)
        async with running(make_gateway(keyed, A, tmp_path)) as gateway_a:
            sent = await gateway_a.submit(
                example_body(MessageKind.REFERRAL), kind=MessageKind.REFERRAL, recipient=B
            )

            async def tracked() -> bool:
                return await store.thread(sent.thread_id) is not None

            # Checked by a header worker process, stored by the service.
            await eventually(tracked, "the referral's thread in the tracker's store", timeout_s=30)
        for _ in range(4):
            await publish(keyed.federation.admin_url(), DEAD_LETTER_EXCHANGE, "", user_id=None)
        taken = await take(keyed.federation.admin_url(), ALERTS_QUEUE)
        alert = Alert.model_validate_json(taken.body)
        assert alert.reason is AlertReason.DEAD_LETTERS_NEAR_FULL
        assert (alert.agency, alert.queue_depth) == (COORDINATOR, 4)
        workers = children_of(tracker.pid)
        assert workers, "the tracker checks headers in worker processes"
    await store.close()
    # uvicorn stops gracefully on SIGTERM, then re-raises it: the exit status says so.
    assert tracker.returncode == -signal.SIGTERM
    assert b'"tracker stopped"' in log.read_bytes()

    async def workers_gone() -> bool:
        return not running_pids(workers)

    await eventually(workers_gone, "the header workers stopped with the tracker", timeout_s=10)
