"""The JSON API, CSV exports and /metrics: same information, same scope as the pages."""

import csv
import io
import math
import re

import httpx

from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import create_tracker_app
from broker.web.metrics import prometheus_text
from broker.web.queries import EXPORT_PAGE
from schemas.kinds import MessageKind, Urgency
from tests.unit.web.conftest import Client
from tests.unit.web.seed import (
    HOUR,
    METRICS_TOKEN,
    NOW,
    SECRET,
    T0,
    Clock,
    Scenario,
    ledger_for,
    make_users,
    new_id,
    original,
)

METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def ids_of(body: dict[str, object]) -> list[str]:
    items = body["items"]
    assert isinstance(items, list)
    return [item["thread_id"] for item in items]


async def test_unanswered_json(cora: Client, scenario: Scenario) -> None:
    body = (await cora.get("/api/v1/unanswered")).json()
    ids = scenario.ids
    assert body["now"] == NOW
    assert ids_of(body) == [ids["overdue_6h"], ids["overdue_4h"], ids["due_soon"]]
    first = body["items"][0]
    assert first["overdue_seconds"] == 6 * HOUR
    assert first["kind"] == "referral"
    assert first["phase"] == "sent"
    assert first["fhir_status"] == "requested"
    assert first["sender"] == "social-north"
    assert first["recipients"] == ["hospital-east"]
    assert body["items"][2]["overdue_seconds"] is None


async def test_paging_and_filters(cora: Client, scenario: Scenario) -> None:
    ids = scenario.ids
    body = (await cora.get("/api/v1/unanswered?limit=1&offset=1")).json()
    assert ids_of(body) == [ids["overdue_4h"]]
    body = (await cora.get("/api/v1/unanswered?urgency=emergency")).json()
    assert ids_of(body) == [ids["due_soon"]]
    assert (await cora.get("/api/v1/unanswered?kind=letter")).status_code == 422
    assert (await cora.get("/api/v1/unanswered?limit=0")).status_code == 422


async def test_other_lists_json(cora: Client, scenario: Scenario) -> None:
    ids = scenario.ids
    assert ids_of((await cora.get("/api/v1/declined")).json()) == [
        ids["redirected"],
        ids["declined"],
    ]
    assert ids_of((await cora.get("/api/v1/transfers")).json()) == [ids["declined"]]
    pending = (await cora.get("/api/v1/consent-withdrawals")).json()["items"]
    assert [p["thread_id"] for p in pending] == [ids["withdrawal"]]
    assert pending[0]["acknowledged_by"] == ["hospital-east"]
    assert pending[0]["recipients"] == ["hospital-east", "police-west"]


async def test_thread_and_timeline_record_views(
    cora: Client, store: MemoryTrackerStore, scenario: Scenario
) -> None:
    thread_id = scenario.ids["declined"]
    thread = (await cora.get(f"/api/v1/threads/{thread_id}")).json()
    assert thread["phase"] == "declined"
    assert thread["responsibility"] == "social-north"
    timeline = (await cora.get(f"/api/v1/threads/{thread_id}/timeline")).json()
    assert [entry["status"] for entry in timeline] == [None, "received", "declined"]
    assert timeline[0]["issued_at"] == T0
    assert await store.views(thread_id) == [("cora", NOW), ("cora", NOW)]
    views = (await cora.get(f"/api/v1/threads/{thread_id}/views")).json()
    assert views == [{"user": "cora", "at": NOW}, {"user": "cora", "at": NOW}]


async def test_supervisor_isolation(sam: Client, pia: Client, scenario: Scenario) -> None:
    ids = scenario.ids
    assert ids_of((await sam.get("/api/v1/unanswered")).json()) == [
        ids["overdue_6h"],
        ids["due_soon"],
    ]
    assert ids_of((await pia.get("/api/v1/unanswered?agency=hospital-east")).json()) == []
    assert ids_of((await pia.get("/api/v1/declined")).json()) == []
    assert ids_of((await sam.get("/api/v1/transfers")).json()) == []
    foreign = ids["overdue_4h"]
    for path in ("", "/timeline"):
        response = await sam.get(f"/api/v1/threads/{foreign}{path}")
        assert response.status_code == 404
        assert response.json() == {"detail": "no such thread"}
        unknown = await sam.get(f"/api/v1/threads/{new_id()}{path}")
        assert unknown.json() == response.json()  # the same answer as for no thread at all
    assert (await sam.get(f"/api/v1/threads/{ids['overdue_6h']}")).status_code == 200
    assert (await sam.get(f"/api/v1/threads/{ids['overdue_6h']}/views")).status_code == 403
    agencies = {a["agency"] for a in (await pia.get("/api/v1/agencies")).json()}
    assert agencies == {"school-south"}


async def test_agencies_json(cora: Client) -> None:
    figures = {a["agency"]: a for a in (await cora.get("/api/v1/agencies")).json()}
    east = figures["hospital-east"]
    # overdue_6h, due_soon and accepted are open; redirected is not.
    assert (east["open"], east["overdue"]) == (3, 1)
    assert east["median_receipt_s"] == (5 * 60 + HOUR) / 2  # accepted: 5m, redirected: 1h
    assert sorted(figures) == ["hospital-east", "school-south", "social-south"]


async def test_openapi_documents_the_api(cora: Client) -> None:
    spec = (await cora.get("/api/v1/openapi.json")).json()
    for path in (
        "/api/v1/unanswered",
        "/api/v1/declined",
        "/api/v1/transfers",
        "/api/v1/consent-withdrawals",
        "/api/v1/threads/{thread_id}",
        "/api/v1/threads/{thread_id}/timeline",
        "/api/v1/agencies",
        "/metrics",
        "/healthz",
    ):
        assert path in spec["paths"]
    assert "/unanswered" not in spec["paths"]  # pages are not API
    assert "ThreadList" in spec["components"]["schemas"]


async def test_csv_export(cora: Client, sam: Client, scenario: Scenario) -> None:
    response = await cora.get("/export/unanswered.csv?agency=hospital-east")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment;" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["thread_id"] for r in rows] == [scenario.ids["overdue_6h"], scenario.ids["due_soon"]]
    assert rows[0]["overdue_seconds"] == str(6 * HOUR)
    assert rows[0]["opened_at"] == "2023-11-14T22:13:20Z"
    assert rows[0]["recipients"] == "hospital-east"
    pending = list(
        csv.DictReader(io.StringIO((await cora.get("/export/consent-withdrawals.csv")).text))
    )
    assert pending[0]["recipients"] == "hospital-east;police-west"
    own = (await sam.get("/export/transfers.csv")).text
    assert own.splitlines()[1:] == []  # header only: social-north's transfer is not sam's
    agencies = list(csv.DictReader(io.StringIO((await cora.get("/export/agencies.csv")).text)))
    assert {a["agency"] for a in agencies} == {"hospital-east", "school-south", "social-south"}


async def test_metrics(
    anonymous: Client, store: MemoryTrackerStore, clock: Clock, scenario: Scenario
) -> None:
    await ledger_for(store).sweep(int(clock.now))
    response = await anonymous.get("/metrics", headers=METRICS_AUTH)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert "# TYPE caselink_open_threads gauge\ncaselink_open_threads 5\n" in text
    assert 'caselink_overdue_threads{agency="hospital-east",urgency="normal"} 1' in text
    assert 'caselink_overdue_threads{agency="school-south",urgency="high"} 1' in text
    assert "# TYPE caselink_alerts_raised_total counter" in text
    raised = int(re.search(r"^caselink_alerts_raised_total (\d+)$", text, re.M).group(1))
    assert raised > 0
    assert f"caselink_alerts_unpublished {raised}" in text
    assert "caselink_ingest_lag_seconds 300.0" in text  # ingested at NOW - 5m
    assert "# TYPE caselink_directory_serial gauge\ncaselink_directory_serial 0\n" in text
    await store.accept_directory_serial(7, clock.now)
    again = await anonymous.get("/metrics", headers=METRICS_AUTH)
    assert "\ncaselink_directory_serial 7\n" in again.text


async def test_metrics_are_not_served_without_a_metrics_token(store: MemoryTrackerStore) -> None:
    app = create_tracker_app(store, make_users(), session_secret=SECRET, clock=Clock())
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.test") as client:
        response = await client.get("/metrics", headers=METRICS_AUTH)
    assert response.status_code == 404


async def test_metrics_take_the_metrics_token_not_a_login(
    anonymous: Client, cora: Client, scenario: Scenario
) -> None:
    # A coordinator's session or password is not what Prometheus holds: the token is.
    for client, headers in (
        (cora, {}),
        (anonymous, {"Authorization": "Basic " + "Y29yYTpjb3JhLXBhc3M="}),  # cora:cora-pass
        (anonymous, {}),
        (anonymous, {"Authorization": f"Bearer {METRICS_TOKEN}x"}),
    ):
        response = await client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "caselink_" not in response.text


def test_prometheus_text_escapes_labels_and_marks_no_ingest() -> None:
    text = prometheus_text(
        {
            "open_threads": 0,
            "overdue": {('a"b\\c\nd', "none"): 2},
            "alerts_raised": 0,
            "alerts_unpublished": 0,
            "last_event_received_at": None,
        },
        now=100.0,
    )
    assert 'caselink_overdue_threads{agency="a\\"b\\\\c\\nd",urgency="none"} 2' in text
    assert "caselink_ingest_lag_seconds NaN" in text
    assert all(
        line.startswith("#") or math.isfinite(float(line.split()[-1])) or "NaN" in line
        for line in text.splitlines()
    )


async def test_csv_export_reads_every_page(
    cora: Client, store: MemoryTrackerStore, clock: Clock
) -> None:
    many = [
        original(new_id(), MessageKind.REFERRAL, "health-north", "police-west", T0, Urgency.LOW)
        for _ in range(EXPORT_PAGE + 5)
    ]
    await ledger_for(store).ingest(many, received_at=clock.now)
    rows = list(csv.DictReader(io.StringIO((await cora.get("/export/unanswered.csv")).text)))
    assert len(rows) == EXPORT_PAGE + 5 + 3  # and the scenario's three
    assert len({r["thread_id"] for r in rows}) == len(rows)
