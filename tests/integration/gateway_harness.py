"""Gateways and trackers on the real RabbitMQ: a keyed federation in its own vhost."""

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription
from broker.envelope import AgencyKeys, RootKey, TrustedDirectory, verify_directory
from broker.gateway.ports import GatewayStore
from broker.gateway.service import Gateway
from broker.keystore import write_private, write_public
from broker.operator.apply import RABBITMQCTL
from broker.store.gateway_store import SqlGatewayStore
from broker.store.tracker_store import SqlTrackerStore
from broker.tls.client import AmqpTls
from broker.topology.names import TAP_LOST_QUEUE, TAP_OVERFLOW_QUEUE, TAP_QUEUE, QueueLimits
from broker.tracker.ledger import TrackerLedger
from broker.tracker.policy import DEFAULT_POLICY, SlaPolicy
from broker.tracker.service import TrackerService
from broker.tracker.verifier import HeaderVerifier, SignedDirectory
from tests.consents import grant_example_consent
from tests.gateway_users import make_users, users_toml
from tests.integration.rabbit_federation import (
    AGENCIES,
    Federation,
    applied_federation,
    make_keys,
)
from tests.waiting import eventually as eventually  # the one polling helper, re-exported

PREFETCH = 1024  # the gateway's default


@dataclass(frozen=True)
class KeyedFederation:
    """A federation whose agencies' private keys the test holds."""

    federation: Federation
    root: RootKey
    keys: dict[str, AgencyKeys]
    signed_directory: bytes
    trusted: TrustedDirectory

    def directory_source(self) -> SignedDirectory:
        """The signed directory and root public key, as a tracker's header workers take them."""
        return SignedDirectory(self.signed_directory, self.root.public().to_bytes())

    def write_directory_files(self, folder: Path) -> None:
        """directory.json and root.pub.json in `folder`, as a service's config names them."""
        write_public(folder / "directory.json", self.signed_directory)
        write_public(folder / "root.pub.json", self.root.public().to_bytes())


@asynccontextmanager
async def keyed_federation(
    secrets: Path,
    limits: QueueLimits | None = None,
    agency_ids: Iterable[str] = AGENCIES,
    ctl: Sequence[str] = RABBITMQCTL,
) -> AsyncIterator[KeyedFederation]:
    """Apply a fresh, keyed federation in its own vhost (on the node `ctl` reaches); removed
    afterwards. An agency of `agency_ids` not in AGENCIES is a social services agency."""
    root, keys, signed = make_keys(agency_ids)
    trusted = verify_directory(signed, root.public())
    with applied_federation(
        secrets, directory=trusted.directory, limits=limits, ctl=ctl
    ) as federation:
        yield KeyedFederation(federation, root, keys, signed, trusted)


def make_gateway(
    keyed: KeyedFederation,
    agency_id: str,
    folder: Path,
    *,
    store: GatewayStore | None = None,
    amqp_url: str | None = None,
    tls: AmqpTls | None = None,
) -> Gateway:
    """A gateway for `agency_id` with its SQLite store under `folder`; not started.

    `amqp_url` replaces the agency's own URL (a proxy's, or amqps:// with `tls`).
    """
    url, topology = amqp_url or keyed.federation.url(agency_id), keyed.federation.topology
    return Gateway(
        keys=keyed.keys[agency_id],
        directory=keyed.trusted,
        store=store or SqlGatewayStore(f"sqlite+aiosqlite:///{folder / agency_id}.db"),
        publisher=ConfirmedPublisher(url, user_id=topology.agency_user(agency_id), tls=tls),
        subscription=QueueSubscription(
            url, topology.agency_queue(agency_id), prefetch=PREFETCH, tls=tls
        ),
        topology=topology,
        watchdog_interval_s=0.5,
        users=make_users(),
    )


def make_tracker(
    keyed: KeyedFederation,
    folder: Path,
    coordinators: list[str],
    *,
    policy: SlaPolicy = DEFAULT_POLICY,
    sweep_interval_s: float = 0.5,
) -> TrackerService:
    """A tracker on the tap, its overflow and its lost queue, SQLite under `folder`; not
    started."""
    store = SqlTrackerStore(f"sqlite+aiosqlite:///{folder / 'tracker.db'}")
    url, topology = keyed.federation.tracker_url(), keyed.federation.topology
    return TrackerService(
        ledger=TrackerLedger(store, policy, coordinators),
        verifier=HeaderVerifier(keyed.directory_source()),
        publisher=ConfirmedPublisher(url, user_id=topology.tracker_user()),
        subscription=QueueSubscription(url, TAP_QUEUE, prefetch=2048),
        overflow=QueueSubscription(url, TAP_OVERFLOW_QUEUE, prefetch=2048),
        lost=QueueSubscription(url, TAP_LOST_QUEUE, prefetch=1),
        topology=topology,
        sweep_interval_s=sweep_interval_s,
        watchdog_interval_s=0.5,
    )


@asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    """Start `gateway`, record the consent the example bodies cite, wait until it
    consumes, and stop it afterwards."""
    await gateway.start()
    try:
        await grant_example_consent(gateway)
        await eventually(lambda: _alive(gateway), "consumer subscribed")
        yield gateway
    finally:
        await gateway.stop()


async def _alive(gateway: Gateway) -> bool:
    return gateway.consumer.subscription.alive()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def gateway_config(
    keyed: KeyedFederation,
    agency_id: str,
    folder: Path,
    port: int,
    *,
    amqp_url: str | None = None,
    extra_toml: str = "",
) -> Path:
    """Write what `caselink gateway --config` needs for `agency_id` into `folder`.

    The settings hold the agency's RabbitMQ password, so they are 0600 like the users file.
    `amqp_url` replaces the agency's own URL; `extra_toml` adds settings (TLS ones, say).
    """
    folder.mkdir(mode=0o700)  # it holds the database: private, or the gateway refuses it
    write_private(folder / "agency.key", keyed.keys[agency_id].to_bytes())
    keyed.write_directory_files(folder)
    write_private(folder / "users.toml", users_toml().encode())
    topology = keyed.federation.topology
    config = folder / "gateway.toml"
    write_private(
        config,
        (
            f'agency_id = "{agency_id}"\n'
            'key_file = "agency.key"\n'
            'directory = "directory.json"\n'
            'root_pub = "root.pub.json"\n'
            'users_file = "users.toml"\n'
            f'amqp_url = "{amqp_url or keyed.federation.url(agency_id)}"\n'
            f'store_url = "sqlite+aiosqlite:///{folder / "gateway.db"}"\n'
            f'api_listen = "127.0.0.1:{port}"\n'
            f'user_prefix = "{topology.user_prefix}"\n'
            f"{extra_toml}"
        ).encode(),
    )
    return config


@contextmanager
def gateway_process(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "gateway", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


async def healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
