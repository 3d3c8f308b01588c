"""A country's load on Caselink: 300 municipalities, 2,000 agencies, a year of referrals.

Computes, from the assumptions below (each a named constant, changed with an option), the
referrals and AMQP messages a year, per working second at peak and in a burst, the threads
open at any one time and the tracker store a year of them fills; then measures, on the
tracker's own SQLite store, what that many open threads cost: one sweep and the dashboard's
first page (bench/tracker_sweep.py's seeding and measure, the tracker's ledger and store),
the per-agency figures, and the bytes each thread takes. Last, the measured capacities of
docs/performance.md against the peak, as a headroom per component.

The assumptions (docs/scaling.md discusses them):
- 2,000 referrals per municipality per year (England: about 5.5 referrals to children's
  social care per 100 children a year; Denmark about 12 notifications per 100; a
  municipality of 100,000 people has about 20,000 children: 1,100-2,400), plus 5 % as
  many transfers between municipalities.
- 6 messages per thread: the referral, its automatic `received` acknowledgement, the
  answer, the plan, the outcome, and one more (a redirect, a consent message, a reminder's
  answer). Every message is one tap event at the tracker.
- 80 % of referrals are sent in working hours (about 2,000 a year); the busiest hour
  carries 10 times a working hour's average, and a burst (a school's export file, a police
  system catching up) 100 referrals within one second.
- Threads stay open 30 days on average (answered within days; the outcome or plan within
  weeks), and 10 % for a year (long cases awaiting their outcome).

Run: .venv/bin/python bench/country.py [--municipalities 300] [--agencies 2000]
        [--referrals-per-municipality 2000] [--no-measure]
Run time: about 30 s with the measurement (seeding the open threads dominates).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ siblings
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import tracker_sweep  # bench/tracker_sweep.py: its seeding and its measured sweep

YEAR_S = 365 * 24 * 3600
WORKING_HOURS = 2_000
WORKING_SHARE = 0.8
PEAK_HOUR_FACTOR = 10
BURST_REFERRALS = 100
MESSAGES_PER_THREAD = 6
TRANSFER_SHARE = 0.05
OPEN_DAYS = 30
LONG_SHARE, LONG_DAYS = 0.10, 365
# One referral sent is 2 AMQP messages at once (it and its `received` acknowledgement),
# each enqueued twice (the recipient's queue and the tracker's tap).
MESSAGES_AT_SEND = 2

# Measured capacities (docs/performance.md, one machine of the CI kind, two cores):
# A sending and a receiving gateway at full load: the slower machine's raw baseline (1,900
# messages/s) times the throughput ratio (about 0.24); 0.75-0.8 ms of CPU per referral each.
GATEWAY_PAIR_REFERRALS_S = 450
TRACKER_EVENTS_S = 5_000  # one tracker's intake on SQLite (tap events)
RABBITMQ_MESSAGES_S_PER_CORE = 4_000  # quorum-queue enqueues, 0.22-0.25 ms per referral x 4
SWEEP_TARGET_S = 1.0  # the tracker's sweep over all open threads (bench/tracker_sweep.py)


@dataclass(frozen=True)
class Load:
    municipalities: int
    agencies: int
    referrals_year: int
    threads_year: int
    messages_year: int
    average_referrals_s: float
    peak_referrals_s: float
    burst_referrals_s: float
    peak_events_s: float
    open_threads: int

    @property
    def threads_per_agency_year(self) -> float:
        return self.threads_year / self.agencies


def country(municipalities: int, agencies: int, per_municipality: int) -> Load:
    """The load of a year, from the assumptions above."""
    referrals = municipalities * per_municipality
    threads = round(referrals * (1 + TRANSFER_SHARE))
    working_hour = threads * WORKING_SHARE / WORKING_HOURS / 3600
    peak = working_hour * PEAK_HOUR_FACTOR
    mean_open_days = (1 - LONG_SHARE) * OPEN_DAYS + LONG_SHARE * LONG_DAYS
    return Load(
        municipalities=municipalities,
        agencies=agencies,
        referrals_year=referrals,
        threads_year=threads,
        messages_year=threads * MESSAGES_PER_THREAD,
        average_referrals_s=threads / YEAR_S,
        peak_referrals_s=peak,
        burst_referrals_s=BURST_REFERRALS,
        # At peak, every message of the threads in flight (answers, plans...) as well.
        peak_events_s=peak * MESSAGES_PER_THREAD,
        open_threads=round(threads * mean_open_days / 365),
    )


def show(load: Load) -> None:
    print(f"country: {load.municipalities} municipalities, {load.agencies:,} agencies")
    print(
        f"  a year: {load.referrals_year:,} referrals, {load.threads_year:,} threads "
        f"(transfers included), {load.messages_year:,} messages; "
        f"{load.threads_per_agency_year:,.0f} threads per agency"
    )
    print(
        f"  referrals/s: average {load.average_referrals_s:.3f}, busiest hour "
        f"{load.peak_referrals_s:.2f}, burst {load.burst_referrals_s}"
    )
    print(f"  tap events/s at the busiest hour: {load.peak_events_s:.1f}")
    print(f"  threads open at any time (steady state): {load.open_threads:,}")


def headroom(load: Load) -> None:
    """Each component's measured capacity against the peak (and the burst)."""
    rabbit_s = load.peak_referrals_s * MESSAGES_AT_SEND * 2
    print("headroom at the busiest hour (measured capacity / load):")
    print(
        f"  one gateway pair: {GATEWAY_PAIR_REFERRALS_S} referrals/s -> "
        f"{GATEWAY_PAIR_REFERRALS_S / load.peak_referrals_s:,.0f}x "
        f"(a burst of {BURST_REFERRALS}/s at one gateway: "
        f"{GATEWAY_PAIR_REFERRALS_S / BURST_REFERRALS:.1f}x)"
    )
    print(
        f"  the tracker: {TRACKER_EVENTS_S:,} events/s -> "
        f"{TRACKER_EVENTS_S / load.peak_events_s:,.0f}x"
    )
    print(
        f"  RabbitMQ (one core): {RABBITMQ_MESSAGES_S_PER_CORE:,} enqueues/s against "
        f"{rabbit_s:.1f} -> {RABBITMQ_MESSAGES_S_PER_CORE / rabbit_s:,.0f}x"
    )
    print(
        f"  queues: {load.agencies:,} agency quorum queues + the tap's 3; "
        f"connections: {load.agencies:,} gateways + tracker(s) + notifier"
    )


def measure(open_threads: int, threads_year: int) -> None:
    """Seed the open threads into a tracker store, time a sweep, the first page and the
    per-agency figures, and size the store."""
    tracker_sweep.check_seed_matches_the_core()

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tracker.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(tracker_sweep.create(url))
        started = time.perf_counter()
        tracker_sweep.seed_sqlite(path, open_threads)
        print(f"seeded {open_threads:,} open threads in {time.perf_counter() - started:.1f}s")
        sizes = _table_bytes(path)
        asyncio.run(tracker_sweep.measure(url, open_threads))  # prints the sweep and reads
    total = sum(sizes.values())
    per_thread = total / open_threads
    print(
        f"store: {total / 2**20:,.0f} MiB for {open_threads:,} threads ({per_thread:,.0f} B each)"
    )
    events = sum(size for name, size in sizes.items() if "event" in name)
    per_event = events / open_threads
    year = (per_thread + (MESSAGES_PER_THREAD - 1) * per_event) * threads_year
    print(
        f"  of which events (rows and indexes) {per_event:,.0f} B per event; a year of "
        f"threads with {MESSAGES_PER_THREAD} events each: about {year / 2**30:,.1f} GiB"
    )


def _table_bytes(path: Path) -> dict[str, int]:
    """Bytes per table and index (SQLite's dbstat)."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        connection.close()
    return {str(name): int(size) for name, size in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--municipalities", type=int, default=300)
    parser.add_argument("--agencies", type=int, default=2_000)
    parser.add_argument("--referrals-per-municipality", type=int, default=2_000)
    parser.add_argument("--no-measure", action="store_true", help="the arithmetic only")
    args = parser.parse_args()
    started = time.perf_counter()
    load = country(args.municipalities, args.agencies, args.referrals_per_municipality)
    show(load)
    headroom(load)
    if not args.no_measure:
        measure(load.open_threads, load.threads_year)
    print(f"country_seconds {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
