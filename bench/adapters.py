"""Adapter overhead: a referral through each agency adapter's edge against the same referral
posted to the gateway's canonical API (`POST /v1/referrals`), in one run, interleaved.

Per adapter, one gateway (the agency's) with its adapter switched on, its API driven in
process through httpx.ASGITransport, as the adapters' own tests drive it:
- health: `POST /fhir/Bundle` with adapters/health/sample.py's transaction Bundle;
- police: a signed `POST /police/notifications` with adapters/police/sample.py (one child);
- social: Primero's `POST /api/v2/cases/:id/referrals` on a case created just before
  (untimed: creating the case is Primero's work, not the referral's);
- education: one school export file of `--rows` rows (adapters/education/sample.py),
  processed by the adapter's folder intake (`EducationAdapter.process`: read, hash, ledger,
  map, send, receipts, move), its time divided by the rows.
The canonical side posts, to the same gateway as the same signed-in user (the police
webhook has its own HMAC sign-in; the canonical side then signs in with the system token),
exactly the referral body that adapter submitted: it is captured from `Gateway.submit` in
the warm-up, so both sides seal the same bytes for the same recipient.

Consent. Every adapter is fed a referral given with consent, as the native input carries
it (a FHIR Consent, the police's `consent_to_share`, the school's consent column, Primero's
consent flags), and records that consent before it submits the referral citing it. The
canonical side does the same work through the canonical API: per referral, it records the
consent the adapter recorded in the warm-up (`POST /v1/consents/records`, under a fresh
consent id) and then posts the referral citing it. So both sides pay for a consent record
and a referral per referral; what differs is the native form. (An adapter that reuses one
consent for many referrals records nothing new: the register is idempotent for the same
consent, which the canonical side's fresh id then charges it for.)

The gateways: a temp SQLite store each (as `caselink gateway` runs: the outbox commit is
what a 202 waits for, on both sides) on the in-memory broker of the tests' memory
federation. No RabbitMQ: what is compared is the work in the gateway's process up to the
answer, and an AMQP round trip would add the same noise to both sides without moving the
difference. Each side is timed from the request to its answer; after each operation the
outbox is drained (published, marked sent) untimed, so neither side is charged with the
other's publishing and both meet the same state. Edge and canonical alternate operation by
operation (which goes first alternates too); the four adapters take turns within a round.
Per-referral times are the minimum over rounds of each round's median; each adapter's
ratio is the median over rounds of its round's edge/canonical ratio. The garbage collector
stays on: an adapter's allocations are part of its cost. The last line is
`adapter_overhead_ratio <the worst adapter's ratio>` (target <= 1.5).

Run: .venv/bin/python bench/adapters.py [--rounds N] [--iterations N] [--rows N]
     [--only health,police,...] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import logging
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import httpx
from pydantic import BaseModel

from adapters.education import EducationAdapter
from adapters.education import build as build_education
from adapters.education.sample import SAMPLE_URN, sample_concern_csv, sample_row
from adapters.health import build as build_health
from adapters.health.sample import sample_bundle
from adapters.police.sample import sample_notification
from adapters.social import build as build_social
from adapters.social.sample import sample_case, sample_referral
from broker.app.garbage_collector import settle_startup_objects
from broker.envelope import AgencyKeys, RootKey, build_directory, verify_directory
from broker.gateway.adapter_port import AdapterContext
from broker.gateway.service import Gateway
from broker.logs import configure_logging
from broker.store.gateway_store import SqlGatewayStore
from broker.testing import InMemoryBroker
from broker.topology.definitions import build_definitions
from broker.topology.names import Topology
from schemas.consent import Consent
from schemas.kinds import AgencyKind, MessageKind
from tests.gateway_users import PASSWORDS, SYSTEM_TOKEN
from tests.memory_federation import MemoryFederation
from tests.unit.adapters.police.harness import make_adapter as make_police_adapter
from tests.unit.adapters.police.harness import secret_key, signed
from tests.unit.gateway.api_harness import api_of, make_gateway

HOSPITAL, POLICE, SCHOOL = "oscc-north", "police-west", "school-hillside"
# Every referral goes to social-east, whose gateway is not run: nothing is received or
# acknowledged in this process. The social adapter's agency is the other municipality.
SOCIAL, SOCIAL_WEST = "social-east", "social-west"
AGENCIES = {
    HOSPITAL: AgencyKind.HEALTH,
    POLICE: AgencyKind.POLICE,
    SCHOOL: AgencyKind.EDUCATION,
    SOCIAL: AgencyKind.SOCIAL_SERVICES,
    SOCIAL_WEST: AgencyKind.SOCIAL_SERVICES,
}
ADAPTERS = ("health", "police", "social", "education")
SYSTEM = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}
ANA = {"Authorization": "Basic " + base64.b64encode(f"ana:{PASSWORDS['ana']}".encode()).decode()}
JSON = {"Content-Type": "application/json"}
FHIR = {"Content-Type": "application/fhir+json"}


def federation() -> MemoryFederation:
    """The five agencies, keyed, with a signed directory and the topology in memory."""
    now = int(time.time()) - 60
    root = RootKey.generate(now=now)
    keys = {agency: AgencyKeys.generate(agency, now=now) for agency in AGENCIES}
    entries = [
        keys[agency].public_entry(kind=kind, name=f"Bench {agency}", region="bench")
        for agency, kind in AGENCIES.items()
    ]
    signed_directory = build_directory(entries, root, now=now)
    trusted = verify_directory(signed_directory, root.public())
    topology = Topology()
    users = topology.users(list(AGENCIES))
    definitions = build_definitions(trusted.directory, dict.fromkeys(users, "unused"), topology)
    broker = InMemoryBroker.from_definitions(definitions)
    return MemoryFederation(broker, topology, root, keys, signed_directory, trusted)


@dataclass
class Side:
    """One adapter's two sides on its gateway. `edge` sends through the adapter and returns
    how many referrals it sent; `canonical(requests)` posts what `canonical_requests(n)`
    built: the captured consent and referral, `n` times."""

    name: str
    gateway: Gateway
    api: httpx.AsyncClient
    canonical_auth: dict[str, str]
    edge: Callable[[], Awaitable[int]]
    prepare: Callable[[], Awaitable[None]]  # the native input of the next edge op, untimed
    rows: int = 1  # referrals per edge operation
    body: bytes = b""  # the canonical request: the captured referral, for its recipient
    consent: dict[str, Any] = field(default_factory=dict)  # the consent the adapter recorded
    edge_runs: list[float] = field(default_factory=list)
    canonical_runs: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)

    def canonical_requests(self, count: int) -> list[tuple[bytes, bytes]]:
        """`count` canonical request pairs as bytes (the consent under a fresh id, then the
        referral citing it), built before timing, as the edge's native input is."""
        pairs = []
        for _ in range(count):
            consent_id = str(uuid.uuid4())
            request = json.loads(self.body)
            request["body"]["consent_ref"] = consent_id
            consent = json.dumps(self.consent | {"consent_id": consent_id}).encode()
            pairs.append((consent, json.dumps(request).encode()))
        return pairs

    async def canonical(self, requests: list[tuple[bytes, bytes]]) -> int:
        """Post each pair: record the consent, then send the referral citing it."""
        headers = self.canonical_auth | JSON
        for consent, referral in requests:
            recorded = await self.api.post("/v1/consents/records", content=consent, headers=headers)
            if recorded.status_code != 201:
                raise RuntimeError(f"canonical {self.name} consent: {recorded.status_code}")
            answer = await self.api.post("/v1/referrals", content=referral, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(f"canonical {self.name}: {answer.status_code} {answer.text}")
        return len(requests)


async def drained(gateway: Gateway) -> None:
    """Until the outbox holds nothing unsent: publishing belongs to neither timed side."""
    deadline = time.monotonic() + 30
    while (await gateway.store.counts())["outbox_pending"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{gateway.agency_id}'s outbox did not drain")
        await asyncio.sleep(0.0005)


def context_of(gateway: Gateway, folder: Path) -> AdapterContext:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return AdapterContext(gateway=gateway, folder=folder, clock=time.time)


def store_in(folder: Path, agency: str) -> SqlGatewayStore:
    return SqlGatewayStore(f"sqlite+aiosqlite:///{folder / agency}.db")


@asynccontextmanager
async def health_side(fed: MemoryFederation, folder: Path) -> AsyncIterator[Side]:
    gateway = make_gateway(fed, HOSPITAL, store=store_in(folder, HOSPITAL))
    adapter = build_health({}, context_of(gateway, folder / "health"))
    bundle = json.dumps(sample_bundle(SOCIAL)).encode()
    async with api_of(gateway, adapters=[adapter]) as api:

        async def edge() -> int:
            answer = await api.post("/fhir/Bundle", content=bundle, headers=SYSTEM | FHIR)
            if answer.status_code != 200:
                raise RuntimeError(f"health edge: {answer.status_code} {answer.text}")
            return 1

        yield Side("health", gateway, api, SYSTEM, edge, _nothing)


@asynccontextmanager
async def police_side(fed: MemoryFederation, folder: Path) -> AsyncIterator[Side]:
    gateway = make_gateway(fed, POLICE, store=store_in(folder, POLICE))
    (folder / "police").mkdir(mode=0o700)
    adapter = make_police_adapter(gateway, folder / "police")
    key = secret_key(folder / "police")
    serial = 0
    request: tuple[bytes, dict[str, str]] = (b"", {})

    async def prepare() -> None:
        # The police system's work: a fresh notification and webhook-id, signed now.
        nonlocal serial, request
        serial += 1
        document = sample_notification(notification_id=f"PPN-BENCH-{serial:07d}", consent=True)
        body = json.dumps(document).encode()
        request = (body, signed(key, body, webhook_id=f"msg_bench{serial:07d}"))

    async with api_of(gateway, adapters=[adapter]) as api:

        async def edge() -> int:
            body, headers = request
            answer = await api.post(
                "/police/notifications", content=body, headers={"Authorization": ""} | headers
            )
            if answer.status_code != 202:
                raise RuntimeError(f"police edge: {answer.status_code} {answer.text}")
            return 1

        yield Side("police", gateway, api, SYSTEM, edge, prepare)


@asynccontextmanager
async def social_side(fed: MemoryFederation, folder: Path) -> AsyncIterator[Side]:
    gateway = make_gateway(fed, SOCIAL_WEST, store=store_in(folder, SOCIAL_WEST))
    adapter = build_social({}, context_of(gateway, folder / "social"))
    referral = sample_referral([], SOCIAL)
    del referral["data"]["ids"]
    referral_bytes = json.dumps(referral).encode()
    case_bytes = json.dumps(sample_case()).encode()
    case_id = ""

    async with api_of(gateway, adapters=[adapter]) as api:

        async def prepare() -> None:
            # The caseworker's case, created in Primero's API before it is referred.
            nonlocal case_id
            created = await api.post("/api/v2/cases", content=case_bytes, headers=ANA | JSON)
            if created.status_code != 200:
                raise RuntimeError(f"social case: {created.status_code} {created.text}")
            case_id = created.json()["data"]["id"]

        async def edge() -> int:
            answer = await api.post(
                f"/api/v2/cases/{case_id}/referrals", content=referral_bytes, headers=ANA | JSON
            )
            if answer.status_code != 200:
                raise RuntimeError(f"social edge: {answer.status_code} {answer.text}")
            return 1

        yield Side("social", gateway, api, ANA, edge, prepare)


def education_table() -> dict[str, Any]:
    return {
        "folder": "inbox",
        "state": "state/education.sqlite",
        "send_as": "case-system",
        "recipient": SOCIAL,
        "schools": {SAMPLE_URN: {"date_format": "%d/%m/%Y"}},
    }


@asynccontextmanager
async def education_side(fed: MemoryFederation, folder: Path, rows: int) -> AsyncIterator[Side]:
    gateway = make_gateway(fed, SCHOOL, store=store_in(folder, SCHOOL))
    adapter: EducationAdapter = build_education(
        education_table(), context_of(gateway, folder / "education")
    )
    inbox = folder / "education" / "inbox"
    serial = 0
    path = inbox / "none.csv"

    async def prepare() -> None:
        # The school's export, written whole (a new record id per row: a new file content).
        nonlocal serial, path
        serial += 1
        export = sample_concern_csv(
            [sample_row(record_id=f"CP-{serial:06d}-{row:03d}") for row in range(rows)]
        )
        path = inbox / f"concerns-{serial:06d}.csv"
        path.write_bytes(export)

    async with api_of(gateway) as api:
        await adapter.open()
        try:

            async def edge() -> int:
                receipt = await adapter.process(path)
                if receipt.sent != rows:
                    refused = {line.reason for line in receipt.lines if line.reason}
                    raise RuntimeError(f"education edge: {receipt.sent} of {rows} sent {refused}")
                return rows

            yield Side("education", gateway, api, SYSTEM, edge, prepare, rows=rows)
        finally:
            await adapter.close()


async def _nothing() -> None:
    return None


async def capture(side: Side) -> None:
    """One edge operation with `Gateway.submit` watched: the referral it sends becomes the
    canonical side's request (same body, same recipient)."""
    seen: list[tuple[BaseModel, str]] = []
    consents: list[Consent] = []
    original, original_record = side.gateway.submit, side.gateway.record_consent

    async def spy(body: BaseModel, **arguments: Any) -> Any:
        if arguments["kind"] is MessageKind.REFERRAL:
            seen.append((body, arguments["recipient"]))
        return await original(body, **arguments)

    async def record_spy(consent: Consent, **arguments: Any) -> None:
        consents.append(consent)
        await original_record(consent, **arguments)

    side.gateway.submit = spy  # type: ignore[method-assign]
    side.gateway.record_consent = record_spy  # type: ignore[method-assign]
    try:
        await side.prepare()
        await side.edge()
    finally:
        del side.gateway.submit
        del side.gateway.record_consent
    body, recipient = seen[0]
    if not consents:
        raise RuntimeError(f"{side.name}: the adapter recorded no consent for its referral")
    request = {"recipient": recipient, "body": json.loads(body.model_dump_json())}
    side.body = json.dumps(request).encode()
    side.consent = json.loads(consents[0].model_dump_json())


async def timed(operation: Awaitable[int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = await operation
    return time.perf_counter() - start, count


async def one_round(side: Side, iterations: int) -> None:
    edge_times, canonical_times = [], []
    for i in range(iterations):
        await side.prepare()
        await drained(side.gateway)
        # Which side goes first alternates, so neither always follows the other's work.
        if i % 2 == 0:
            edge_s, count = await timed(side.edge())
            await drained(side.gateway)
            requests = side.canonical_requests(count)
            canonical_s, _ = await timed(side.canonical(requests))
        else:
            requests = side.canonical_requests(side.rows)
            canonical_s, count = await timed(side.canonical(requests))
            await drained(side.gateway)
            edge_s, _ = await timed(side.edge())
        edge_times.append(edge_s / count)
        canonical_times.append(canonical_s / count)
    await drained(side.gateway)
    side.edge_runs.append(statistics.median(edge_times) * 1e3)
    side.canonical_runs.append(statistics.median(canonical_times) * 1e3)
    # Two medians of the same seconds: load that comes and goes cancels out.
    side.ratios.append(side.edge_runs[-1] / side.canonical_runs[-1])


def clear_queues(fed: MemoryFederation) -> None:
    """Nobody consumes in this bench: drop what the queues hold between rounds."""
    for queue in fed.broker.queues.values():
        queue.ready.clear()


async def profile(sides: list[Side], iterations: int) -> None:
    """cProfile each side's operations (and what runs in the loop meanwhile), both paths."""
    for side in sides:
        for path in ("edge", "canonical"):
            profiler = cProfile.Profile()
            for _ in range(max(1, iterations // side.rows)):
                await side.prepare()
                await drained(side.gateway)
                profiler.enable()
                requests = side.canonical_requests(side.rows)
                await (side.edge() if path == "edge" else side.canonical(requests))
                profiler.disable()
            print(f"--- profile: {side.name} {path}, {iterations} referrals ---")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


async def main(args: argparse.Namespace) -> None:
    chosen = args.only.split(",") if args.only else list(ADAPTERS)
    # Warnings only, on both sides: an info line per request would be the terminal's cost.
    configure_logging(level=logging.WARNING)
    fed = federation()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        makers = {
            "health": lambda: health_side(fed, folder),
            "police": lambda: police_side(fed, folder),
            "social": lambda: social_side(fed, folder),
            "education": lambda: education_side(fed, folder, args.rows),
        }
        async with AsyncExitStack() as stack:
            sides = [await stack.enter_async_context(makers[name]()) for name in chosen]
            for side in sides:
                await capture(side)
                # Warm-up: imports, caches, the store's first pages.
                for _ in range(min(10, args.iterations)):
                    await side.prepare()
                    await side.canonical(side.canonical_requests(await side.edge()))
                await drained(side.gateway)
            settle_startup_objects()  # as `caselink gateway` does
            print(f"education rows per file {args.rows}", flush=True)
            for _ in range(args.rounds):
                for side in sides:
                    iterations = max(1, args.iterations // side.rows)
                    await one_round(side, iterations)
                clear_queues(fed)
            if args.profile:
                await profile(sides, args.iterations)
    for side in sides:
        ratio = statistics.median(side.ratios)
        edge_ms, canonical_ms = min(side.edge_runs), min(side.canonical_runs)
        print(
            f"{side.name}: edge {edge_ms:.2f} ms, canonical {canonical_ms:.2f} ms per referral, "
            f"ratio {ratio:.3f} (rounds {min(side.ratios):.3f}..{max(side.ratios):.3f})"
        )
    worst = max(statistics.median(side.ratios) for side in sides)
    print(f"adapter_overhead_ratio {worst:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--iterations", type=int, default=100, help="referrals per round")
    parser.add_argument("--rows", type=int, default=10, help="rows per school export file")
    parser.add_argument(
        "--folder", default=None, help="where the SQLite files go (default: the temp folder)"
    )
    parser.add_argument("--only", default="", help="comma-separated adapters (default: all)")
    parser.add_argument("--profile", action="store_true", help="cProfile each edge path")
    asyncio.run(main(parser.parse_args()))
