"""The transfer pages: who holds each transferred case now, and how long the ones nobody
took over have been in limbo; the same in the JSON API and the CSV export."""

import csv
import io

from broker.tracker.memory_store import MemoryTrackerStore
from schemas.kinds import AckStatus, MessageKind
from tests.unit.web.conftest import Client
from tests.unit.web.seed import (
    HOUR,
    NOW,
    T0,
    Scenario,
    answer,
    ledger_for,
    new_id,
    original,
    shown,
)
from tests.unit.web.test_pages import row, row_order

NORTH, SOUTH = "social-north", "social-south"


async def add_transfers(store: MemoryTrackerStore) -> dict[str, str]:
    """A transfer still waiting (sent 6h ago) and one accepted, beside the seeded decline."""
    ids = {"waiting": new_id(), "taken": new_id()}
    waiting = original(ids["waiting"], MessageKind.TRANSFER, NORTH, SOUTH, NOW - 6 * HOUR)
    taken = original(ids["taken"], MessageKind.TRANSFER, NORTH, SOUTH, T0 + HOUR)
    events = [
        waiting,
        answer(waiting, AckStatus.RECEIVED, NOW - 5 * HOUR),
        taken,
        answer(taken, AckStatus.RECEIVED, T0 + 2 * HOUR),
        answer(taken, AckStatus.ACCEPTED, T0 + 3 * HOUR),
    ]
    await ledger_for(store).ingest(events, received_at=NOW - HOUR)
    return ids


async def test_transfers_in_limbo_show_their_holder_and_age(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    ids = await add_transfers(store) | {"declined": scenario.ids["declined"]}
    html = (await cora.get("/transfers")).text
    # The oldest first: the decline (sent at T0, 10h ago), then the one still waiting.
    assert row_order(html) == [ids["declined"], ids["waiting"]]
    assert '<th scope="col">Holder now</th>' in html
    assert '<th scope="col">In limbo for</th>' in html
    # A declined transfer is back with its sender, still to be placed.
    assert f"<td>{shown(NORTH)}</td><td>11/14/23" in row(html, ids["declined"])
    assert "<td>10h 0m</td>" in row(html, ids["declined"])
    assert "<td>6h 0m</td>" in row(html, ids["waiting"])
    assert ids["taken"] not in html

    api = (await cora.get("/api/v1/transfers")).json()["items"]
    assert [(t["responsibility"], t["limbo_seconds"]) for t in api] == [
        (NORTH, 10 * HOUR),
        (NORTH, 6 * HOUR),
    ]
    exported = list(csv.DictReader(io.StringIO((await cora.get("/export/transfers.csv")).text)))
    assert [(r["responsibility"], r["limbo_seconds"]) for r in exported] == [
        (NORTH, str(10 * HOUR)),
        (NORTH, str(6 * HOUR)),
    ]


async def test_a_transfer_taken_over_is_held_by_its_receiver_and_not_in_limbo(
    cora: Client, store: MemoryTrackerStore
) -> None:
    ids = await add_transfers(store)
    html = (await cora.get("/transfers-taken")).text
    assert row_order(html) == [ids["taken"]]
    assert '<th scope="col">Holder now</th>' in html
    assert '<th scope="col">In limbo for</th>' not in html
    assert f"<td>{shown(SOUTH)}</td>" in row(html, ids["taken"])
    [item] = (await cora.get("/api/v1/transfers-taken")).json()["items"]
    assert (item["phase"], item["responsibility"], item["limbo_seconds"]) == (
        "accepted",
        SOUTH,
        None,
    )
    facts = (await cora.get(f"/threads/{ids['taken']}")).text
    assert f"<dt>Holder now</dt><dd>{shown(SOUTH)}</dd>" in facts


async def test_a_supervisor_sees_transfers_of_their_own_agency_only(
    sam: Client, store: MemoryTrackerStore
) -> None:
    await add_transfers(store)
    for path in ("/transfers", "/transfers-taken"):
        assert row_order((await sam.get(path)).text) == []
