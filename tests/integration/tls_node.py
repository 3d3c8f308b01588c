"""A RabbitMQ node of the test's own, TLS only, on spare ports; the machine's node untouched.

Started from RabbitMQ's own scripts (/usr/lib/rabbitmq/bin, not the /usr/sbin wrappers,
which run as the rabbitmq user and write the machine node's start-up log), with everything
it writes under the caller's folder: its database, logs, config and plugins files, and a
HOME holding a copy of the machine's Erlang cookie, so that rabbitmqctl reaches it either
way. Ports come from 5681-5689 (AMQPS) and 25681-25689 (distribution), the range kept for
extra nodes on this machine; the machine's node on 5672 is never stopped, restarted or
configured. Stopped with `rabbitmqctl stop`, then its process group killed if it lingers.

Used by tests/integration/test_tls.py and bench/throughput.py --tls.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SBIN = Path("/usr/lib/rabbitmq/bin")
COOKIES = (Path.home() / ".erlang.cookie", Path("/var/lib/rabbitmq/.erlang.cookie"))
AMQPS_PORTS = range(5681, 5690)
DIST_OFFSET = 20000  # 5681 -> 25681
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
PLUGINS = ("rabbitmq_auth_mechanism_ssl",)


class NodeUnavailable(Exception):
    """RabbitMQ's scripts or the Erlang cookie are missing: the caller skips or fails."""


def _script(name: str) -> Path:
    if (SBIN / name).is_file():
        return SBIN / name
    found = shutil.which(name)
    if found is None:
        raise NodeUnavailable(f"{name} not found ({SBIN} or PATH)")
    return Path(found)


def _cookie() -> bytes:
    for path in COOKIES:
        if path.is_file():
            return path.read_bytes().strip()
    raise NodeUnavailable("no Erlang cookie: ~/.erlang.cookie or /var/lib/rabbitmq/.erlang.cookie")


def missing() -> str | None:
    """Why no node can be started here, or None."""
    try:
        _script("rabbitmq-server")
        _script("rabbitmqctl")
        _cookie()
    except NodeUnavailable as error:
        return str(error)
    return None


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _spare_ports() -> tuple[int, int]:
    for port in AMQPS_PORTS:
        if _free(port) and _free(port + DIST_OFFSET):
            return port, port + DIST_OFFSET
    raise NodeUnavailable("no spare port pair in 5681-5689 / 25681-25689")


def tls_config(port: int, certs: Path, *, plain_login: bool = True) -> str:
    """rabbitmq.conf of a TLS-only node: verify_peer, a certificate required, no TCP."""
    mechanisms = ["auth_mechanisms.1 = EXTERNAL"]
    if plain_login:
        # Set-up and the bench's raw baseline log in by password, still over TLS with a
        # client certificate (fail_if_no_peer_cert holds for every connection).
        mechanisms.append("auth_mechanisms.2 = PLAIN")
    return "\n".join(
        [
            "listeners.tcp = none",
            f"listeners.ssl.default = 127.0.0.1:{port}",
            f"ssl_options.cacertfile = {certs / 'ca.pem'}",
            f"ssl_options.certfile = {certs / 'server.pem'}",
            f"ssl_options.keyfile = {certs / 'server.key'}",
            "ssl_options.verify = verify_peer",
            "ssl_options.fail_if_no_peer_cert = true",
            "ssl_options.versions.1 = tlsv1.3",
            "ssl_options.versions.2 = tlsv1.2",
            *mechanisms,
            "ssl_cert_login_from = common_name",
            # guest may log in by password from localhost only (the default), for set-up.
            "loopback_users.guest = true",
            "log.file.level = info",
            "log.console = false",
            "",
        ]
    )


@dataclass(frozen=True)
class TlsNode:
    """A running node: its name, its AMQPS port and the rabbitmqctl that reaches it."""

    name: str
    port: int
    dist_port: int
    env: dict[str, str]

    @property
    def ctl(self) -> tuple[str, ...]:
        """rabbitmqctl aimed at this node (for broker.operator.apply's `ctl=`)."""
        return ("env", f"HOME={self.env['HOME']}", str(_script("rabbitmqctl")), "-n", self.name)

    def run_ctl(self, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_script("rabbitmqctl")), "-n", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )


def _environment(folder: Path, name: str, port: int, dist_port: int, conf: Path) -> dict[str, str]:
    home = folder / "home"
    home.mkdir(mode=0o700)
    cookie = home / ".erlang.cookie"
    cookie.write_bytes(_cookie())
    cookie.chmod(0o400)
    (folder / "rabbitmq-env.conf").write_text("")  # not the machine's (its node name)
    (folder / "enabled_plugins").write_text(f"[{','.join(PLUGINS)}].\n")
    keep = {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL")}
    return {
        **keep,
        "HOME": str(home),
        "RABBITMQ_NODENAME": name,
        "RABBITMQ_DIST_PORT": str(dist_port),
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_CONFIG_FILE": str(conf),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(folder / "advanced.config"),
        "RABBITMQ_CONF_ENV_FILE": str(folder / "rabbitmq-env.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(folder / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(folder / "mnesia"),
        "RABBITMQ_LOG_BASE": str(folder / "log"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
    }


@contextmanager
def tls_node(folder: Path, certs: Path, *, plain_login: bool = True) -> Iterator[TlsNode]:
    """Start a TLS-only node with `certs` (ca.pem, server.pem, server.key) and stop it after.

    `folder` (empty, private) receives everything the node writes; the caller removes it.
    Raises NodeUnavailable when RabbitMQ is not installed here, RuntimeError when the node
    does not start (its log is in folder/log and folder/server.out).
    """
    server = _script("rabbitmq-server")
    port, dist_port = _spare_ports()
    name = f"caselink-tls-{uuid.uuid4().hex[:8]}@localhost"
    conf = folder / "rabbitmq.conf"
    conf.write_text(tls_config(port, certs, plain_login=plain_login))
    env = _environment(folder, name, port, dist_port, conf)
    node = TlsNode(name, port, dist_port, env)
    with (folder / "server.out").open("wb") as out:
        process = subprocess.Popen(
            [str(server)],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as one if it lingers
        )
    try:
        _await_startup(node, process)
        yield node
    finally:
        _stop(node, process)


def _await_startup(node: TlsNode, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"RabbitMQ node {node.name} exited with {process.returncode}")
        if node.run_ctl("await_startup", "--timeout", "5", timeout_s=15).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"RabbitMQ node {node.name} did not start in {START_TIMEOUT_S:g} s")


def _stop(node: TlsNode, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            node.run_ctl("stop", timeout_s=STOP_TIMEOUT_S)
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
    if process.poll() is None:
        # Our own process group (start_new_session), never anything by name.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)
