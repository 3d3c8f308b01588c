"""Every page, fragment, export and API route that shows thread data leaves a view record:
who, when, which view, and which thread or filter (ids and categories only)."""

import pytest

from broker.tracker.access import ViewRecord
from broker.tracker.memory_store import MemoryTrackerStore
from tests.unit.web.conftest import Client
from tests.unit.web.seed import NOW, Scenario

SHOWN = [
    # (path, view, thread shown, filter)
    ("/", "page:unanswered", None, "limit=200"),
    (
        "/unanswered?kind=referral&agency=hospital-east&urgency=",
        "page:unanswered",
        None,
        "agency=hospital-east&kind=referral&limit=200",
    ),
    ("/declined?offset=5&limit=10", "page:declined", None, "limit=10&offset=5"),
    ("/transfers", "page:transfers", None, "limit=200"),
    ("/transfers-taken", "page:transfers-taken", None, "limit=200"),
    ("/accepted", "page:accepted", None, "limit=200"),
    ("/consent-withdrawals", "page:consent-withdrawals", None, "limit=200"),
    ("/fragments/unanswered?urgency=high", "fragment:unanswered", None, "urgency=high&limit=200"),
    ("/fragments/declined", "fragment:declined", None, "limit=200"),
    ("/fragments/transfers", "fragment:transfers", None, "limit=200"),
    ("/fragments/transfers-taken", "fragment:transfers-taken", None, "limit=200"),
    ("/fragments/accepted", "fragment:accepted", None, "limit=200"),
    ("/fragments/consent-withdrawals", "fragment:consent-withdrawals", None, "limit=200"),
    ("/export/unanswered.csv?state=sent", "export:unanswered", None, "state=sent"),
    ("/export/declined.csv", "export:declined", None, ""),
    ("/export/transfers.csv", "export:transfers", None, ""),
    ("/export/transfers-taken.csv", "export:transfers-taken", None, ""),
    ("/export/accepted.csv?kind=referral", "export:accepted", None, "kind=referral"),
    ("/export/consent-withdrawals.csv", "export:consent-withdrawals", None, ""),
    ("/export/agencies.csv?agency=police-west", "export:agencies", None, "agency=police-west"),
    ("/export/agency-weeks.csv?urgency=high", "export:agency-weeks", None, "urgency=high"),
    ("/api/v1/unanswered?limit=5&offset=1", "api:unanswered", None, "limit=5&offset=1"),
    ("/api/v1/declined", "api:declined", None, "limit=100"),
    ("/api/v1/transfers", "api:transfers", None, "limit=100"),
    ("/api/v1/transfers-taken", "api:transfers-taken", None, "limit=100"),
    ("/api/v1/accepted", "api:accepted", None, "limit=100"),
    ("/api/v1/consent-withdrawals", "api:consent-withdrawals", None, "limit=100"),
    ("/api/v1/agencies?urgency=low", "api:agencies", None, "urgency=low"),
    ("/api/v1/agencies/weeks?kind=referral", "api:agency-weeks", None, "kind=referral"),
    ("/threads/{declined}", "page:thread", "declined", ""),
    ("/api/v1/threads/{declined}", "api:thread", "declined", ""),
    ("/api/v1/threads/{declined}/timeline", "api:timeline", "declined", ""),
]


@pytest.mark.parametrize(("path", "view", "thread", "query"), SHOWN)
async def test_every_showing_of_thread_data_is_recorded(
    cora: Client,
    store: MemoryTrackerStore,
    scenario: Scenario,
    path: str,
    view: str,
    thread: str | None,
    query: str,
) -> None:
    response = await cora.get(path.format(**scenario.ids))
    assert response.status_code == 200
    thread_id = None if thread is None else scenario.ids[thread]
    assert await store.view_log(limit=10) == [ViewRecord("cora", NOW, view, thread_id, query)]


async def test_the_agencies_page_records_its_figures_and_its_trends(
    cora: Client, store: MemoryTrackerStore
) -> None:
    assert (await cora.get("/agencies?kind=transfer")).status_code == 200
    # Newest first: the page reads the figures, then the weekly trends.
    assert await store.view_log(limit=10) == [
        ViewRecord("cora", NOW, "page:agency-weeks", None, "kind=transfer"),
        ViewRecord("cora", NOW, "page:agencies", None, "kind=transfer"),
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/threads/{declined}/views",
        "/api/v1/audit/sign-ins",
        "/api/v1/audit/views",
        "/api/v1/openapi.json",
        "/login",
        "/healthz",
        "/static/app.css",
    ],
)
async def test_routes_without_thread_data_record_nothing(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario, path: str
) -> None:
    assert (await cora.get(path.format(**scenario.ids))).status_code == 200
    assert await store.view_log(limit=10) == []


async def test_nothing_shown_nothing_recorded(
    sam: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    foreign = scenario.ids["overdue_4h"]  # police-west -> school-south: not sam's agency
    for path in (f"/threads/{foreign}", f"/api/v1/threads/{foreign}/timeline"):
        assert (await sam.get(path)).status_code == 404
    assert (await sam.get("/unanswered?state=nonsense")).status_code == 422
    assert await store.view_log(limit=10) == []


async def test_a_supervisors_lists_are_recorded_too(sam: Client, store: MemoryTrackerStore) -> None:
    await sam.get("/export/unanswered.csv")
    assert await store.view_log(limit=10) == [ViewRecord("sam", NOW, "export:unanswered")]


async def test_coordinators_read_the_view_records(
    cora: Client, sam: Client, scenario: Scenario
) -> None:
    await cora.get("/declined?kind=transfer")
    await cora.get(f"/api/v1/threads/{scenario.ids['declined']}")
    records = (await cora.get("/api/v1/audit/views")).json()
    assert records == [
        {
            "user": "cora",
            "at": NOW,
            "view": "api:thread",
            "thread_id": scenario.ids["declined"],
            "filter": "",
        },
        {
            "user": "cora",
            "at": NOW,
            "view": "page:declined",
            "thread_id": None,
            "filter": "kind=transfer&limit=200",
        },
    ]
    assert len((await cora.get("/api/v1/audit/views?limit=1&offset=1")).json()) == 1
    assert (await sam.get("/api/v1/audit/views")).status_code == 403
