"""The Agencies page's weekly trends: SVG charts drawn on the server whose bars carry the
store's figures, the same figures in the JSON API and a CSV, scoped like every other read."""

import csv
import io
import re

from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.trends import TREND_WEEKS, WEEK, week_start
from schemas.kinds import MessageKind, Urgency
from tests.unit.web.conftest import Client
from tests.unit.web.seed import NAMES, NOW, T0, ledger_for, new_id, original

THIS_WEEK = "2023-11-13"  # the Monday of T0's week: the seeded threads were all sent in it
YEAR_AGO = "2022-11-21"  # the first of the 52 weeks shown
HOSPITAL = {  # hospital-east's week, once the sweep at NOW raised the reminders due
    "received": 4,  # overdue_6h, due_soon, accepted, redirected
    "overdue": 1,  # overdue_6h: never received within its 4 hours
    "median_receipt_s": 1950.0,  # accepted after 5m, redirected after 1h
    "median_answer_s": 7200.0,  # accepted after 1h, redirected after 3h
}


async def swept(store: MemoryTrackerStore) -> None:
    await ledger_for(store).sweep(NOW)


def bars(html: str, agency: str, kind: str) -> list[tuple[str, str]]:
    """(data-week, data-value) of every bar of one kind in one agency's section."""
    section = re.search(rf'<section class="trend" data-agency="{agency}">.*?</section>', html, re.S)
    assert section is not None, f"no trends for {agency}"
    found = re.findall(
        rf'<rect class="bar {kind}" [^>]*data-week="([0-9-]+)" data-value="([0-9.]+)"',
        section.group(0),
    )
    return found


async def test_the_charts_carry_the_figures(cora: Client, store: MemoryTrackerStore) -> None:
    await swept(store)
    html = (await cora.get("/agencies")).text
    received = bars(html, "hospital-east", "received")
    assert len(received) == TREND_WEEKS
    assert received[0] == (YEAR_AGO, "0")
    assert received[-1] == (THIS_WEEK, "4")
    assert bars(html, "hospital-east", "overdue")[-1] == (THIS_WEEK, "1")
    # A week without a receipt or an answer has no bar at all, rather than a zero.
    assert bars(html, "hospital-east", "receipt") == [(THIS_WEEK, "1950")]
    assert bars(html, "hospital-east", "answer") == [(THIS_WEEK, "7200")]
    assert bars(html, "school-south", "overdue")[-1] == (THIS_WEEK, "1")  # overdue_4h
    assert "<title>Week of Nov 13, 2023: 4 received</title>" in html
    assert f"<h3>{NAMES['hospital-east']} <small>hospital-east</small></h3>" in html
    assert "<h3>social-south</h3>" in html  # the directory does not name it
    # Nothing the CSP would block: no inline style or script, no event attribute.
    assert not re.search(r"<script>|\sstyle=|\son[a-z]+=", html)


async def test_a_year_and_no_more(cora: Client, store: MemoryTrackerStore) -> None:
    old = original(
        new_id(),
        MessageKind.REFERRAL,
        "social-north",
        "police-west",
        T0 - 400 * 86400,
        Urgency.LOW,
    )
    last_year = original(
        new_id(),
        MessageKind.REFERRAL,
        "social-north",
        "police-west",
        T0 - 51 * WEEK,
        Urgency.LOW,
    )
    await ledger_for(store).ingest([old, last_year], received_at=float(NOW))
    weeks = (await cora.get("/api/v1/agencies/weeks?agency=police-west")).json()
    police = [w for w in weeks if w["agency"] == "police-west"]
    assert [w["week"] for w in police if w["received"]] == [YEAR_AGO]
    assert police[0]["week_start"] == week_start(T0 - 51 * WEEK)


async def test_the_json_api_and_the_csv_have_the_same_figures(
    cora: Client, store: MemoryTrackerStore
) -> None:
    await swept(store)
    weeks = (await cora.get("/api/v1/agencies/weeks")).json()
    assert sorted({w["agency"] for w in weeks}) == ["hospital-east", "school-south", "social-south"]
    hospital = [w for w in weeks if w["agency"] == "hospital-east"]
    assert len(hospital) == TREND_WEEKS
    assert hospital[-1] == {
        "agency": "hospital-east",
        "agency_name": NAMES["hospital-east"],
        "week": THIS_WEEK,
        "week_start": week_start(T0),
        **HOSPITAL,
    }
    assert hospital[0]["received"] == 0
    assert hospital[0]["median_receipt_s"] is None
    response = await cora.get("/export/agency-weeks.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 3 * TREND_WEEKS
    last = [r for r in rows if r["agency"] == "hospital-east"][-1]
    assert last == {
        "agency": "hospital-east",
        "agency_name": NAMES["hospital-east"],
        "week": THIS_WEEK,
        "received": "4",
        "overdue": "1",
        "median_receipt_s": "1950.0",
        "median_answer_s": "7200.0",
    }


async def test_filters_and_scope_apply(
    cora: Client, pia: Client, store: MemoryTrackerStore
) -> None:
    await swept(store)
    own = (await pia.get("/api/v1/agencies/weeks")).json()
    # police-west's only referral went to school-south.
    assert {w["agency"] for w in own} == {"school-south"}
    html = (await pia.get("/agencies")).text
    assert 'data-agency="hospital-east"' not in html
    transfers = (await cora.get("/api/v1/agencies/weeks?kind=transfer")).json()
    assert {w["agency"] for w in transfers} == {"social-south"}
    assert (await cora.get("/api/v1/agencies/weeks?kind=letter")).status_code == 422


async def test_no_threads_no_charts(cora: Client, store: MemoryTrackerStore) -> None:
    html = (await cora.get("/agencies?agency=nobody-here")).text
    assert "No referrals or transfers in the last year." in html
    assert "trend-chart" not in html
