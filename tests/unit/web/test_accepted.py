"""The accepted-but-not-done list: referrals and transfers accepted with neither an outcome
nor a plan recorded, the longest since acceptance first, with that age; the same in the
JSON API and the CSV. A planned thread met its outcome deadline: not listed, shown planned."""

import csv
import io

from broker.tracker.memory_store import MemoryTrackerStore
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.web.conftest import Client
from tests.unit.web.seed import HOUR, NOW, T0, Scenario, answer, ledger_for, new_id, original
from tests.unit.web.test_pages import row, row_order

NORTH, SOUTH, HOSPITAL = "social-north", "social-south", "hospital-east"
DAY = 24 * HOUR


async def add_threads(store: MemoryTrackerStore) -> dict[str, str]:
    """A transfer accepted 9 days ago (within its 30-day outcome), a normal referral accepted
    8 days ago (a day past its 7-day outcome), one completed and one whose plan was recorded
    on its sixth day (neither listed)."""
    ids = {"transfer": new_id(), "late": new_id(), "done": new_id(), "planned": new_id()}
    transfer = original(ids["transfer"], MessageKind.TRANSFER, NORTH, SOUTH, NOW - 10 * DAY)
    late = original(
        ids["late"], MessageKind.REFERRAL, NORTH, HOSPITAL, NOW - 9 * DAY, Urgency.NORMAL
    )
    done = original(
        ids["done"], MessageKind.REFERRAL, NORTH, HOSPITAL, NOW - 9 * DAY, Urgency.NORMAL
    )
    planned = original(
        ids["planned"], MessageKind.REFERRAL, NORTH, HOSPITAL, NOW - 9 * DAY, Urgency.NORMAL
    )
    events = [
        transfer,
        answer(transfer, AckStatus.ACCEPTED, NOW - 9 * DAY),
        late,
        answer(late, AckStatus.ACCEPTED, NOW - 8 * DAY),
        done,
        answer(done, AckStatus.ACCEPTED, NOW - 8 * DAY),
        answer(done, AckStatus.COMPLETED, NOW - DAY),
        planned,
        answer(planned, AckStatus.ACCEPTED, NOW - 8 * DAY),
        answer(planned, AckStatus.PLANNED, NOW - 2 * DAY),
    ]
    await ledger_for(store).ingest(events, received_at=NOW - HOUR)
    return ids


async def test_accepted_threads_are_listed_with_their_age_oldest_first(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    ids = await add_threads(store)
    html = (await cora.get("/accepted")).text
    # The seeded referral was accepted at T0 + 2h, 8 hours before NOW.
    assert row_order(html) == [ids["transfer"], ids["late"], scenario.ids["accepted"]]
    assert ids["done"] not in html
    assert ids["planned"] not in html
    assert '<th scope="col">Accepted for</th>' in html
    assert "<td>9d 0h</td>" in row(html, ids["transfer"])
    assert "<td>8h 0m</td>" in row(html, scenario.ids["accepted"])
    # Past the 7-day outcome deadline: red, late by a day.
    assert 'class="overdue"' in row(html, ids["late"])
    assert "late by 1d 0h" in row(html, ids["late"])
    assert 'class="overdue"' not in row(html, ids["transfer"])

    api = (await cora.get("/api/v1/accepted")).json()["items"]
    assert [(t["thread_id"], t["accepted_seconds"]) for t in api] == [
        (ids["transfer"], 9 * DAY),
        (ids["late"], 8 * DAY),
        (scenario.ids["accepted"], 8 * HOUR),
    ]
    assert api[1]["current_deadline"] == NOW - 8 * DAY + 7 * DAY
    exported = list(csv.DictReader(io.StringIO((await cora.get("/export/accepted.csv")).text)))
    assert [r["accepted_seconds"] for r in exported] == [str(9 * DAY), str(8 * DAY), str(8 * HOUR)]
    assert (T0 + 2 * HOUR) == NOW - 8 * HOUR


async def test_a_supervisor_sees_the_accepted_threads_of_their_own_agency_only(
    sam: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    ids = await add_threads(store)
    # sam supervises hospital-east: the referrals, not the transfer between social services.
    assert row_order((await sam.get("/accepted")).text) == [ids["late"], scenario.ids["accepted"]]


async def test_a_planned_thread_shows_its_plan_recorded_and_owes_nothing(
    cora: Client, store: MemoryTrackerStore
) -> None:
    ids = await add_threads(store)
    page = (await cora.get(f"/threads/{ids['planned']}")).text
    assert "Plan recorded (In progress)" in page
    thread = (await cora.get(f"/api/v1/threads/{ids['planned']}")).json()
    assert (thread["phase"], thread["fhir_status"]) == ("planned", "in-progress")
    assert (thread["current_deadline"], thread["accepted_seconds"]) == (None, None)
    assert ids["planned"] not in (await cora.get("/export/accepted.csv")).text
