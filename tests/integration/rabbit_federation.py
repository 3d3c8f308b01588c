"""A throw-away federation on the local RabbitMQ: its own vhost, users and signed directory."""

import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from broker.envelope import (
    AgencyKeys,
    RootKey,
    build_directory,
    verify_directory,
)
from broker.operator.apply import RABBITMQCTL, apply_definitions, delete_topology
from broker.topology.definitions import Definitions, build_definitions
from broker.topology.names import QueueLimits, Topology
from broker.topology.passwords import load_or_create_passwords
from schemas.directory import Directory
from schemas.kinds import AgencyKind

AGENCIES = {
    "oscc-north": (AgencyKind.HEALTH, "North Hospital OSCC"),
    "social-east": (AgencyKind.SOCIAL_SERVICES, "East Municipality Social Services"),
    "police-west": (AgencyKind.POLICE, "West Police Child Unit"),
}
HOST = "127.0.0.1"
# Every wait on the broker is bounded by this; generous because CI machines are slow.
TIMEOUT_S = 20.0


def make_keys(agency_ids: Iterable[str]) -> tuple[RootKey, dict[str, AgencyKeys], bytes]:
    """Fresh root and agency keys, and the root-signed directory of them."""
    now = int(time.time()) - 60
    root = RootKey.generate(now=now)
    keys = {agency_id: AgencyKeys.generate(agency_id, now=now) for agency_id in agency_ids}
    entries = []
    for agency_id, agency_keys in keys.items():
        kind, name = AGENCIES.get(agency_id, (AgencyKind.SOCIAL_SERVICES, f"Test {agency_id}"))
        entries.append(agency_keys.public_entry(kind=kind, name=name, region="test"))
    return root, keys, build_directory(entries, root, now=now)


def make_directory(agency_ids: Iterable[str]) -> Directory:
    """A directory signed by a fresh root key and verified, as a gateway would load it."""
    root, _, signed = make_keys(agency_ids)
    return verify_directory(signed, root.public()).directory


def unique_topology(limits: QueueLimits | None = None) -> Topology:
    """A vhost and user prefix no other test run uses (and the default bounds, unless given)."""
    run = uuid.uuid4().hex[:10]
    return Topology(
        vhost=f"caselink-test-{run}", user_prefix=f"test-{run}-", limits=limits or QueueLimits()
    )


def _url(user: str, password: str, vhost: str) -> str:
    return (
        f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{HOST}/{quote(vhost, safe='')}"
    )


@dataclass(frozen=True)
class Federation:
    """An applied topology and the credentials to use it."""

    topology: Topology
    directory: Directory
    secrets: Path
    passwords: dict[str, str]
    definitions: Definitions

    def user(self, agency_id: str) -> str:
        return self.topology.agency_user(agency_id)

    def url(self, agency_id: str) -> str:
        user = self.user(agency_id)
        return _url(user, self.passwords[user], self.topology.vhost)

    def tracker_url(self) -> str:
        user = self.topology.tracker_user()
        return _url(user, self.passwords[user], self.topology.vhost)

    def operator_url(self) -> str:
        """The dead-letter operator's own user, as `caselink topology apply` made it."""
        user = self.topology.operator_user()
        return _url(user, self.passwords[user], self.topology.vhost)

    def notifier_url(self) -> str:
        """The notifier's own user, as `caselink topology apply` made it."""
        user = self.topology.notifier_user()
        return _url(user, self.passwords[user], self.topology.vhost)

    def admin_url(self) -> str:
        """The guest administrator: for set-up and inspection only, never under test."""
        return _url("guest", "guest", self.topology.vhost)


def definitions_for(
    topology: Topology, directory: Directory, secrets: Path
) -> tuple[dict[str, str], Definitions]:
    """Passwords from (or added to) `secrets`, and the definitions built from them."""
    users = topology.users(a.id for a in directory.agencies)
    passwords = load_or_create_passwords(secrets, users)
    return passwords, build_definitions(directory, passwords, topology)


@contextmanager
def applied_federation(
    secrets: Path,
    agency_ids: Iterable[str] = AGENCIES,
    *,
    directory: Directory | None = None,
    limits: QueueLimits | None = None,
    ctl: Sequence[str] = RABBITMQCTL,
) -> Iterator[Federation]:
    """Apply a fresh federation; delete its vhost and users afterwards, whatever happened.

    Pass `directory` to use agencies whose keys you hold; else one is made from `agency_ids`.
    Pass `limits` for queue bounds other than the federation's defaults (tiny ones, say),
    `ctl` for a node other than the machine's (tests/integration/tls_node.py).
    """
    topology = unique_topology(limits)
    directory = make_directory(agency_ids) if directory is None else directory
    passwords, definitions = definitions_for(topology, directory, secrets)
    try:
        apply_definitions(definitions, ctl=ctl)
        # guest inspects and sets up in the test vhost; this grant dies with the vhost.
        subprocess.run(
            [*ctl, "set_permissions", "-p", topology.vhost, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )
        yield Federation(topology, directory, secrets, passwords, definitions)
    finally:
        delete_topology(topology, [agency.id for agency in directory.agencies], ctl=ctl)
