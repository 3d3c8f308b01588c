"""The README's command blocks run as written, in order, on a fresh copy of the repository.

Every ```sh block is run by one bash (`set -e`) with the venv's `caselink` on the PATH, in a
copy of the tracked files, so a command that fails, or a block that needs a step the README
does not give, fails this test. The one block marked `not run by tests/cli/test_readme.py`
is `make demo` and `make test`: the latter runs this test, and tests/e2e/test_demo.py runs
the demo.

Two rewrites, both stated here: a line that starts a long-running service (`caselink gateway
--config F`, `caselink tracker --config F`, which a reader gives its own terminal) runs in
the background until its /healthz answers 200, and is stopped at the end; and the README's
own switch for a trial beside a real federation is set (CASELINK_VHOST, CASELINK_USER_PREFIX,
CASELINK_TRACKER_USER_PREFIX), so the run has its own vhost and users, deleted afterwards,
and never touches the `caselink` vhost or any other.
"""

import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.operator.apply import delete_topology
from broker.topology.names import Topology

REPO = Path(__file__).parents[2]
README = REPO / "README.md"
SKIP_MARK = "<!-- not run by tests/cli/test_readme.py"
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```sh\n(?P<body>.*?)```", re.DOTALL)
# A service line, and the setting in its config file that says where its /healthz is.
SERVICES = {"caselink gateway --config": "api_listen", "caselink tracker --config": "listen"}

# Bash helpers the rewritten service lines call. Polling /healthz waits for the event
# itself (the service consuming from RabbitMQ), not for a guessed time.
PRELUDE = """set -e
SERVICES_STARTED=""
stop_services() { for pid in $SERVICES_STARTED; do kill "$pid" 2>/dev/null || true; done; wait; }
trap stop_services EXIT
wait_healthy() {  # URL PID: until URL answers 200; fail if PID exits or after 120 s
    for _ in $(seq 1200); do
        if curl -sf -o /dev/null "$1"; then return 0; fi
        if ! kill -0 "$2" 2>/dev/null; then echo "service $2 exited" >&2; return 1; fi
        sleep 0.1
    done
    echo "service $2 never became healthy at $1" >&2
    return 1
}
"""


def command_blocks(text: str) -> tuple[list[str], list[str]]:
    """(blocks to run, blocks marked as not run), in README order."""
    run, skipped = [], []
    for match in _BLOCK.finditer(text):
        (skipped if match["before"].startswith(SKIP_MARK) else run).append(match["body"])
    return run, skipped


def logical_lines(block: str) -> Iterator[str]:
    """The block's lines with backslash continuations joined."""
    pending = ""
    for line in block.splitlines():
        if line.endswith("\\"):
            pending += line + "\n"
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def service_port(line: str, clone: Path) -> int | None:
    """The port of the service this line starts, or None for an ordinary command."""
    for start, setting in SERVICES.items():
        if line.startswith(start):
            words = shlex.split(line, comments=True)
            if len(words) != 4:  # `caselink tracker overdue --config F` is no service
                return None
            config = tomllib.loads((clone / words[3]).read_text())
            return int(config[setting].rsplit(":", 1)[1])
    return None


def script(blocks: list[str], clone: Path) -> str:
    """One bash script of the blocks, service lines sent to the background."""
    lines = [PRELUDE]
    for number, block in enumerate(blocks):
        for index, line in enumerate(logical_lines(block)):
            port = service_port(line, clone)
            if port is None:
                lines.append(line)
                continue
            log = f"service-{number}-{index}.log"
            lines += [
                f"{line} > {log} 2>&1 &",
                'SERVICES_STARTED="$SERVICES_STARTED $!"',
                f"wait_healthy http://127.0.0.1:{port}/healthz $! || {{ cat {log} >&2; exit 1; }}",
            ]
    return "\n".join(lines) + "\n"


def fresh_copy(destination: Path) -> Path:
    """The tracked files of the working tree, as a fresh clone would have them."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
    )
    for name in listed.stdout.decode().split("\0"):
        source = REPO / name
        if name and source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_only_make_demo_and_make_test_are_left_out() -> None:
    run, skipped = command_blocks(README.read_text())
    assert [block.split()[:2] for block in skipped] == [["make", "demo"]]
    assert len(run) >= 3


def test_service_lines_are_recognised() -> None:
    run, _ = command_blocks(README.read_text())
    lines = [line for block in run for line in logical_lines(block)]
    started = [line for line in lines if service_port(line, REPO) is not None]
    assert [line.split()[1] for line in started] == ["gateway", "tracker"]


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_the_readme_runs_as_written(tmp_path: Path) -> None:
    clone = fresh_copy(tmp_path / "clone")
    run, _ = command_blocks(README.read_text())
    ports = {service_port(line, clone) for b in run for line in logical_lines(b)}
    busy = sorted(port for port in ports if port is not None and port_in_use(port))
    if busy:
        pytest.skip(f"ports {busy} are in use; the README's services listen there")
    run_id = secrets.token_hex(4)
    topology = Topology(vhost=f"caselink-readme-{run_id}", user_prefix=f"readme-{run_id}-")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASELINK")}
    env |= {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(clone),  # the copy's code, whatever the venv was installed from
        "CASELINK_VHOST": topology.vhost,
        "CASELINK_USER_PREFIX": topology.user_prefix,
        "CASELINK_TRACKER_USER_PREFIX": topology.user_prefix,
    }
    (clone / "readme.sh").write_text(script(run, clone))
    bash = subprocess.Popen(
        ["bash", "readme.sh"],
        cwd=clone,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the services started in it too
    )
    try:
        stdout, stderr = bash.communicate(timeout=540)
    finally:
        _stop_process_group(bash)
        entries = (clone / "fed").glob("*.pub.json")
        agencies = [path.name.removesuffix(".pub.json") for path in entries]
        delete_topology(topology, [agency for agency in agencies if agency != "root"])
    assert bash.returncode == 0, f"{stdout[-3000:]}\n{stderr[-3000:]}"
    # curl exits 0 on any HTTP answer, so the answers themselves are checked.
    assert '"message_id"' in stdout
    assert '"thread_id"' in stdout
    assert '"detail"' not in stdout  # no refusal (401, 403, 422) among the answers


def _stop_process_group(bash: "subprocess.Popen[str]") -> None:
    # The script's trap stops its services; this is for a script stopped by the timeout.
    try:
        os.killpg(bash.pid, signal.SIGTERM)
    except ProcessLookupError:
        return  # the script and everything it started have ended
    bash.communicate(timeout=60)
