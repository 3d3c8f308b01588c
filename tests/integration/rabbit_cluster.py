"""The three-node cluster of deploy/cluster/cluster.sh, driven from tests: started once per
module under a temporary folder, nodes killed, paused and restarted, always stopped."""

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from broker.envelope import verify_directory
from broker.operator.apply import apply_definitions, delete_topology
from tests.integration.gateway_harness import KeyedFederation
from tests.integration.rabbit_federation import (
    AGENCIES,
    Federation,
    definitions_for,
    make_keys,
    unique_topology,
)

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "cluster" / "cluster.sh"
NODES = (1, 2, 3)
AMQP_PORTS = {1: 5691, 2: 5692, 3: 5693}
# Short heartbeats: a client on a paused node notices within (5 + 1) * 3 s, not minutes.
HEARTBEAT_S = 5
SCRIPT_TIMEOUT_S = 300


def binaries_missing() -> str | None:
    if Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists() or shutil.which("rabbitmq-server"):
        return None
    return "RabbitMQ's binaries (rabbitmq-server) are not installed"


def require_binaries() -> None:
    """Skip locally without RabbitMQ's binaries; under CI=true fail instead."""
    reason = binaries_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: cluster tests must run)")
    pytest.skip(reason)


def node_name(node: int) -> str:
    return f"caselink-c{node}@localhost"


@dataclass
class Cluster:
    """A running cluster of deploy/cluster/cluster.sh in `folder`."""

    folder: Path
    down: set[int]

    def script(self, command: str, *args: str) -> str:
        done = subprocess.run(
            [str(SCRIPT), command, str(self.folder), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
        )
        return done.stdout

    def ctl_prefix(self, node: int | None = None) -> tuple[str, ...]:
        """The argv prefix of rabbitmqctl on `node` (a running one unless given)."""
        chosen = node if node is not None else self.running()[0]
        return (str(SCRIPT), "ctl", str(self.folder), str(chosen))

    def running(self) -> list[int]:
        return [node for node in NODES if node not in self.down]

    def pid(self, node: int) -> int:
        return int(self.script("pid", str(node)).strip())

    def ctl(self, *args: str, node: int | None = None) -> str:
        """rabbitmqctl ARGS on `node` (a running one unless given); its output."""
        return subprocess.run(
            [*self.ctl_prefix(node), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def leader(self, vhost: str, queue: str) -> int:
        """The node that leads `queue`'s quorum (asked of a running node)."""
        out = self.ctl("list_queues", "-p", vhost, "name", "leader", "-q", "-s")
        for line in out.splitlines():
            name, _, leader = line.partition("\t")
            if name == queue:
                return next(n for n in NODES if node_name(n) == leader.strip())
        raise AssertionError(f"queue {queue} not listed in {vhost}")

    def kill(self, node: int) -> None:
        os.kill(self.pid(node), signal.SIGKILL)
        self.down.add(node)

    def start(self, node: int) -> None:
        self.script("start", str(node))
        self.down.discard(node)

    @contextmanager
    def paused(self, node: int) -> Iterator[None]:
        """SIGSTOP `node`, and SIGCONT it afterwards, whatever happened."""
        pid = self.pid(node)
        os.kill(pid, signal.SIGSTOP)
        self.down.add(node)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)
            self.down.discard(node)

    def wait_all_running(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                status = json.loads(self.ctl("cluster_status", "--formatter", "json", node=1))
                if {node_name(n) for n in NODES} <= set(status["running_nodes"]):
                    return
            except (subprocess.SubprocessError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the three nodes are not all running again")
            time.sleep(1)


@contextmanager
def started_cluster(folder: Path) -> Iterator[Cluster]:
    """Start, join; stop the three nodes afterwards, even when starting failed half-way."""
    require_binaries()
    cluster = Cluster(folder, set())
    try:
        cluster.script("up")
        yield cluster
    finally:
        cluster.script("stop")


def cluster_url(user: str, password: str, vhost: str, nodes: Sequence[int]) -> str:
    """An AMQP URL listing `nodes` in that order (broker.amqp.nodes), short heartbeats."""
    return " ".join(
        f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:"
        f"{AMQP_PORTS[node]}/{quote(vhost, safe='')}?heartbeat={HEARTBEAT_S}"
        for node in nodes
    )


@contextmanager
def cluster_federation(cluster: Cluster, secrets: Path) -> Iterator[KeyedFederation]:
    """A keyed federation applied to the cluster in its own vhost; deleted afterwards."""
    root, keys, signed = make_keys(AGENCIES)
    trusted = verify_directory(signed, root.public())
    topology = unique_topology()
    passwords, definitions = definitions_for(topology, trusted.directory, secrets)
    apply_definitions(definitions, ctl=cluster.ctl_prefix(1))
    federation = Federation(topology, trusted.directory, secrets, passwords, definitions)
    try:
        yield KeyedFederation(federation, root, keys, signed, trusted)
    finally:
        delete_topology(topology, list(AGENCIES), ctl=cluster.ctl_prefix())
