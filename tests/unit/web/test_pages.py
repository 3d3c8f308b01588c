"""The server-rendered pages: lateness order and red rows, filters, timeline, audit, chart."""

import re
from dataclasses import replace

import pytest

from broker.tracker.events import TrackedEvent
from broker.tracker.memory_store import MemoryTrackerStore
from schemas.kinds import LawfulBasis, MessageKind, Urgency
from tests.unit.web.conftest import Client
from tests.unit.web.seed import (
    HOUR,
    MINUTE,
    NOW,
    Clock,
    Scenario,
    ledger_for,
    new_id,
    original,
    shown,
)


def row_order(html: str) -> list[str]:
    return re.findall(r'<tr data-thread="([0-9a-f-]{36})"', html)


def row(html: str, thread_id: str) -> str:
    match = re.search(rf'<tr data-thread="{thread_id}"[^>]*>.*?</tr>', html)
    assert match is not None, f"{thread_id} not listed"
    return match.group(0)


async def test_unanswered_is_sorted_by_lateness_and_red(cora: Client, scenario: Scenario) -> None:
    html = (await cora.get("/unanswered")).text
    ids = scenario.ids
    assert row_order(html) == [ids["overdue_6h"], ids["overdue_4h"], ids["due_soon"]]
    late = row(html, ids["overdue_6h"])
    assert 'class="overdue"' in late
    assert "late by 6h 0m" in late
    assert "late by 4h 0m" in row(html, ids["overdue_4h"])
    soon = row(html, ids["due_soon"])
    assert "overdue" not in soon
    assert "due in 5m" in soon
    assert (
        "tr.overdue td { background: #fde2e2; color: #a30000; }"
        in (await cora.get("/static/app.css")).text
    )


async def test_home_is_the_unanswered_list(cora: Client, scenario: Scenario) -> None:
    assert row_order((await cora.get("/")).text) == row_order((await cora.get("/unanswered")).text)


async def test_lists_update_as_the_clock_moves(
    cora: Client, scenario: Scenario, clock: Clock
) -> None:
    clock.now = NOW + 10 * MINUTE
    html = (await cora.get("/fragments/unanswered")).text
    assert "late by 5m" in row(html, scenario.ids["due_soon"])
    assert html.startswith("<table>")  # a fragment: no page around it


async def test_new_event_shows_in_the_fragment(
    cora: Client, store: MemoryTrackerStore, clock: Clock
) -> None:
    thread_id = new_id()
    event = original(
        thread_id,
        MessageKind.REFERRAL,
        "health-north",
        "police-west",
        int(clock.now) - 2 * HOUR,
        Urgency.EMERGENCY,
    )
    await ledger_for(store).ingest([event], received_at=clock.now)
    html = (await cora.get("/fragments/unanswered")).text
    assert row_order(html)[2] == thread_id  # after the 6h and 4h late ones
    assert "late by 1h 45m" in row(html, thread_id)


async def test_the_page_polls_its_fragment_with_the_same_filters(cora: Client) -> None:
    html = (await cora.get("/unanswered?kind=referral&urgency=&agency=hospital-east")).text
    assert 'data-live="/fragments/unanswered?agency=hospital-east&amp;kind=referral' in html
    assert '<script src="/static/live.js" defer></script>' in html
    assert "<script>" not in html  # no inline script: the CSP forbids it


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("agency=police-west", ["overdue_4h"]),
        ("agency=hospital-east", ["overdue_6h", "due_soon"]),
        ("urgency=emergency", ["due_soon"]),
        ("urgency=high&agency=hospital-east", []),
        ("kind=transfer", []),
        ("kind=referral&state=sent", ["overdue_6h", "overdue_4h", "due_soon"]),
        ("state=delivered", []),
        ("agency=&kind=&urgency=&state=", ["overdue_6h", "overdue_4h", "due_soon"]),
    ],
)
async def test_filters(cora: Client, scenario: Scenario, query: str, expected: list[str]) -> None:
    html = (await cora.get(f"/unanswered?{query}")).text
    assert row_order(html) == [scenario.ids[name] for name in expected]


@pytest.mark.parametrize(
    "query", ["kind=letter", "urgency=soon", "state=lost", "agency=Not%20An%20Agency"]
)
async def test_unknown_filter_values_are_422(cora: Client, query: str) -> None:
    response = await cora.get(f"/unanswered?{query}")
    assert response.status_code == 422
    assert "Not An Agency" not in response.text
    assert "letter" not in response.text


async def test_other_lists(cora: Client, scenario: Scenario) -> None:
    ids = scenario.ids
    declined = (await cora.get("/declined")).text
    assert row_order(declined) == [ids["redirected"], ids["declined"]]  # newest refusal first
    assert "Redirected (Rejected)" in row(declined, ids["redirected"])
    assert row_order((await cora.get("/transfers")).text) == [ids["declined"]]
    pending = (await cora.get("/consent-withdrawals")).text
    assert row_order(pending) == [ids["withdrawal"]]
    waiting = f"{shown('hospital-east')}, {shown('police-west')} (waiting)"
    assert waiting in row(pending, ids["withdrawal"])


async def test_supervisor_sees_only_their_agency(
    sam: Client, pia: Client, scenario: Scenario
) -> None:
    ids = scenario.ids
    assert row_order((await sam.get("/unanswered")).text) == [ids["overdue_6h"], ids["due_soon"]]
    assert row_order((await pia.get("/unanswered")).text) == [ids["overdue_4h"]]
    # Asking for another agency narrows within their own threads; it never widens them.
    assert row_order((await pia.get("/unanswered?agency=hospital-east")).text) == []
    assert row_order((await sam.get("/declined")).text) == [ids["redirected"]]
    assert row_order((await sam.get("/transfers")).text) == []
    assert row_order((await pia.get("/consent-withdrawals")).text) == [ids["withdrawal"]]
    for client, foreign in ((sam, ids["overdue_4h"]), (pia, ids["overdue_6h"])):
        for path in ("/unanswered", "/fragments/unanswered", "/export/unanswered.csv"):
            assert foreign not in (await client.get(path)).text


async def test_thread_page_shows_the_timeline_and_records_the_view(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario, clock: Clock
) -> None:
    thread_id = scenario.ids["redirected"]
    response = await cora.get(f"/threads/{thread_id}")
    assert response.status_code == 200
    html = response.text
    assert "<h2>Timeline</h2>" in html
    assert html.count("<tr><td>") >= 3  # referral, received, redirected
    assert "Redirected (Rejected)" in html
    assert await store.views(thread_id) == [("cora", clock.now)]
    clock.now += 60
    html = (await cora.get(f"/threads/{thread_id}")).text
    assert await store.views(thread_id) == [("cora", NOW), ("cora", NOW + 60)]
    assert "<h2>Viewed by</h2>" in html
    assert html.count("<td>cora</td>") == 2


async def test_supervisor_thread_pages(
    sam: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    own = await sam.get(f"/threads/{scenario.ids['overdue_6h']}")
    assert own.status_code == 200
    assert "Viewed by" not in own.text  # the audit trail is the coordinators'
    foreign = await sam.get(f"/threads/{scenario.ids['overdue_4h']}")
    unknown = await sam.get(f"/threads/{new_id()}")
    assert foreign.status_code == unknown.status_code == 404
    assert scenario.ids["overdue_4h"] not in foreign.text
    assert await store.views(scenario.ids["overdue_4h"]) == []  # nothing was shown


async def test_agencies_page_has_figures_and_a_chart(cora: Client) -> None:
    html = (await cora.get("/agencies")).text
    assert '<svg class="chart" role="img"' in html
    assert f"<td>{shown('hospital-east')}</td>" in html
    assert f"<td>{shown('school-south')}</td>" in html
    assert html.count('class="bar overdue"') >= 2  # the legend and at least one overdue bar
    assert " fill=" not in html  # colours come from the stylesheet's classes


async def test_supervisor_agency_figures_cover_their_threads_only(pia: Client) -> None:
    html = (await pia.get("/agencies")).text
    # police-west's only referral/transfer thread went to school-south.
    assert f"<td>{shown('school-south')}</td>" in html
    for foreign in ("hospital-east", "social-south"):
        assert f'data-agency="{foreign}"' not in html


async def test_values_are_escaped(cora: Client, store: MemoryTrackerStore) -> None:
    # Headers are schema-checked upstream; the page must stay inert even if a store held junk.
    thread_id = new_id()
    bad = "<script>alert(1)</script>"
    await ledger_for(store).ingest(
        [original(thread_id, MessageKind.REFERRAL, bad, "police-west", 0)], 0.0
    )
    html = (await cora.get("/unanswered")).text
    assert bad not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_thread_known_only_by_answers_is_shown_to_its_parties(
    cora: Client, sam: Client, pia: Client, store: MemoryTrackerStore
) -> None:
    # The original has not reached the tracker yet: the answer names the parties.
    thread_id = new_id()
    ack = TrackedEvent(
        new_id(),
        thread_id,
        MessageKind.ACKNOWLEDGEMENT,
        "hospital-east",
        "social-north",
        NOW,
        in_reply_to=new_id(),
        status="received",
    )
    await ledger_for(store).ingest([ack], received_at=NOW)
    assert (await cora.get(f"/threads/{thread_id}")).status_code == 200
    page = await sam.get(f"/threads/{thread_id}")
    assert page.status_code == 200
    assert "Unknown" in page.text
    assert (await pia.get(f"/threads/{thread_id}")).status_code == 404


async def test_sharings_without_consent_have_their_page_and_their_view_record(
    cora: Client, store: MemoryTrackerStore
) -> None:
    shared = replace(
        original(new_id(), MessageKind.REFERRAL, "oscc-north", "social-east", NOW - HOUR),
        basis=LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
    )
    await ledger_for(store).ingest([shared], float(NOW - HOUR))
    html = (await cora.get("/shared-without-consent")).text
    assert row_order(html) == [shared.thread_id]  # the seeded threads all cite a consent
    assert 'data-basis="child_protection_significant_harm"' in row(html, shared.thread_id)
    assert "Child protection: significant harm" in row(html, shared.thread_id)
    assert '<th scope="col">Lawful basis</th>' in html
    assert 'href="/shared-without-consent"' in html  # in the navigation
    facts = (await cora.get(f"/threads/{shared.thread_id}")).text
    assert "Shared without consent, under" in facts
    views = [view.view for view in await store.view_log(limit=100)]
    assert "page:shared-without-consent" in views
    csv = (await cora.get("/export/shared-without-consent.csv")).text
    assert shared.thread_id in csv
