"""Gateways on the real RabbitMQ: a keyed federation in its own vhost, and running gateways."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from broker.envelope import AgencyKeys, RootKey, TrustedDirectory, build_directory, verify_directory
from broker.gateway.ports import GatewayStore
from broker.gateway.service import Gateway
from broker.store.gateway_store import SqlGatewayStore
from tests.integration.rabbit_federation import AGENCIES, Federation, applied_federation


@dataclass(frozen=True)
class KeyedFederation:
    """A federation whose agencies' private keys the test holds."""

    federation: Federation
    root: RootKey
    keys: dict[str, AgencyKeys]
    signed_directory: bytes
    trusted: TrustedDirectory


def make_keys(agency_ids: Iterable[str]) -> tuple[RootKey, dict[str, AgencyKeys], bytes]:
    """Fresh root and agency keys, and the root-signed directory of them."""
    now = int(time.time()) - 60
    root = RootKey.generate(now=now)
    keys = {agency_id: AgencyKeys.generate(agency_id, now=now) for agency_id in agency_ids}
    entries = [
        k.public_entry(kind=AGENCIES[a][0], name=AGENCIES[a][1], region="test")
        for a, k in keys.items()
    ]
    return root, keys, build_directory(entries, root, now=now)


@asynccontextmanager
async def keyed_federation(secrets: Path) -> AsyncIterator[KeyedFederation]:
    """Apply a fresh, keyed federation in its own vhost; removed afterwards."""
    root, keys, signed = make_keys(AGENCIES)
    trusted = verify_directory(signed, root.public())
    with applied_federation(secrets, directory=trusted.directory) as federation:
        yield KeyedFederation(federation, root, keys, signed, trusted)


def make_gateway(
    keyed: KeyedFederation,
    agency_id: str,
    folder: Path,
    *,
    store: GatewayStore | None = None,
) -> Gateway:
    """A gateway for `agency_id` with its SQLite store under `folder`; not started."""
    return Gateway(
        keys=keyed.keys[agency_id],
        directory=keyed.trusted,
        store=store or SqlGatewayStore(f"sqlite+aiosqlite:///{folder / agency_id}.db"),
        amqp_url=keyed.federation.url(agency_id),
        topology=keyed.federation.topology,
        watchdog_interval_s=0.5,
    )


@asynccontextmanager
async def running(gateway: Gateway) -> AsyncIterator[Gateway]:
    """Start `gateway`, wait until it consumes, and stop it afterwards."""
    await gateway.start()
    try:
        await eventually(lambda: _alive(gateway), "consumer subscribed")
        yield gateway
    finally:
        await gateway.stop()


async def _alive(gateway: Gateway) -> bool:
    return gateway.consumer.alive()


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, *, timeout_s: float = 30.0
) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for: {what}")
        await asyncio.sleep(0.05)
