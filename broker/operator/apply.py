"""Apply definitions to a RabbitMQ node with rabbitmqctl, and check that the node took them.

What `rabbitmqctl import_definitions` does on RabbitMQ 3.10 to objects that already exist
(checked in tests/integration/test_topology_apply.py):
- users are overwritten: a changed password in the secrets file takes effect on re-apply;
- permissions and topic permissions are overwritten: hand edits are undone on re-apply;
- vhosts, exchanges and queues are kept as they are, even with other arguments or type;
- bindings are added, never removed; users and permissions absent from the file stay.
So after each import the node's own export is compared with the definitions, and anything
that import cannot converge is raised as a TopologyError naming the object.
"""

import json
import subprocess
from collections.abc import Iterable, Sequence
from typing import Any

from broker.topology.definition_checks import check_definitions, find_drift
from broker.topology.definitions import Definitions, TopologyError
from broker.topology.names import Topology

RABBITMQCTL: tuple[str, ...] = ("rabbitmqctl",)
TIMEOUT_S = 120.0
_MAX_MESSAGE = 300


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # rabbitmqctl prints "Error:" on a line of its own, then the reason.
    useful = [line for line in lines if line.rstrip(":") != "Error"]
    return (useful[-1] if useful else "no output")[:_MAX_MESSAGE]


def _run(ctl: Sequence[str], *args: str, stdin: str | None = None, timeout_s: float) -> str:
    command = [*ctl, *args]
    try:
        done = subprocess.run(  # noqa: S603 (fixed argv, no shell; ctl comes from the operator)
            command, input=stdin, capture_output=True, text=True, timeout=timeout_s, check=True
        )
    except FileNotFoundError as exc:
        raise TopologyError(f"{ctl[0]} not found: is RabbitMQ installed here?") from exc
    except subprocess.TimeoutExpired as exc:
        raise TopologyError(f"rabbitmqctl {args[0]} timed out after {timeout_s:g} s") from exc
    except subprocess.CalledProcessError as exc:
        reason = _one_line(exc.stderr or exc.stdout or "")
        raise TopologyError(
            f"rabbitmqctl {args[0]} failed (exit {exc.returncode}): {reason}"
        ) from exc
    return done.stdout


def export_live(*, ctl: Sequence[str] = RABBITMQCTL, timeout_s: float = TIMEOUT_S) -> Definitions:
    """The node's current definitions (every vhost); raises TopologyError.

    They include password hashes: keep the result in memory and never print it.
    """
    out = _run(ctl, "export_definitions", "-", "--format", "json", "--quiet", timeout_s=timeout_s)
    try:
        live: Any = json.loads(out)
    except json.JSONDecodeError as exc:
        raise TopologyError(
            "rabbitmqctl export_definitions printed something other than JSON"
        ) from exc
    if not isinstance(live, dict):
        raise TopologyError("rabbitmqctl export_definitions printed no JSON object")
    return live


def apply_definitions(
    definitions: Definitions, *, ctl: Sequence[str] = RABBITMQCTL, timeout_s: float = TIMEOUT_S
) -> None:
    """Import `definitions` into the node, then check the node matches them.

    Idempotent. Raises TopologyError when the definitions are malformed, rabbitmqctl fails,
    or the node keeps something import cannot change (the message lists what differs).
    """
    check_definitions(definitions)
    # Through stdin, not a file: the node reads a file as the rabbitmq user, so it would have
    # to be world-readable, and the password hashes would sit on disk.
    document = json.dumps(definitions)
    _run(ctl, "import_definitions", "--format", "json", stdin=document, timeout_s=timeout_s)
    drift = find_drift(definitions, export_live(ctl=ctl, timeout_s=timeout_s))
    if drift:
        shown = "; ".join(drift[:5]) + (f"; and {len(drift) - 5} more" if len(drift) > 5 else "")
        raise TopologyError(f"the node differs from the definitions after import: {shown}")


def delete_topology(
    topology: Topology,
    agency_ids: Iterable[str],
    *,
    ctl: Sequence[str] = RABBITMQCTL,
    timeout_s: float = TIMEOUT_S,
) -> None:
    """Delete the vhost (with its queues and messages) and the users of `topology`.

    Meant for tests and teardown; what is already gone is skipped. Raises TopologyError.
    """
    users = set(topology.users(agency_ids))
    live = export_live(ctl=ctl, timeout_s=timeout_s)
    if topology.vhost in {v.get("name") for v in live.get("vhosts", [])}:
        _run(ctl, "delete_vhost", topology.vhost, timeout_s=timeout_s)
    for user in sorted(users & {u.get("name") for u in live.get("users", [])}):
        _run(ctl, "delete_user", user, timeout_s=timeout_s)
