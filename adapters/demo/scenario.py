"""The scenario: each step through the adapter that agency would really use, each outcome
checked against what the services report (never assumed).

A step is an async function of the Scenario (the state, a client per agency, the alerts
seen) returning one Outcome per expected observation. Steps run in order; a step that
fails records its outcomes and the scenario goes on, so the summary shows every result.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters.demo.alerts import AlertWatch
from adapters.demo.federation import (
    AGENCIES,
    CASEWORKER,
    COORDINATOR_USER,
    SOCIAL_A,
    SOCIAL_B,
    TRACKER_PORT,
    DemoAgency,
)
from adapters.demo.payloads import primero_case, primero_transfer
from adapters.demo.report import Outcome
from adapters.demo.state import DemoState

WAIT_S = 30.0


@dataclass
class Scenario:
    """What the steps share."""

    state: DemoState
    alerts: AlertWatch
    notes: dict[str, str] = field(default_factory=dict)  # ids one step leaves for a later one

    def system(self, agency: DemoAgency) -> httpx.AsyncClient:
        """The agency's own system, signed in with its token."""
        return httpx.AsyncClient(
            base_url=agency.url,
            headers={"Authorization": f"Bearer {self.state.token(agency)}"},
            timeout=10.0,
        )

    def person(self, agency: DemoAgency, name: str) -> httpx.AsyncClient:
        """A person of the agency, signed in with HTTP Basic."""
        return httpx.AsyncClient(
            base_url=agency.url,
            auth=(name, self.state.password(agency.agency_id, name)),
            timeout=10.0,
        )

    def dashboard(self) -> httpx.AsyncClient:
        password = self.state.password("dashboard", COORDINATOR_USER)
        return httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{TRACKER_PORT}",
            auth=(COORDINATOR_USER, password),
            timeout=10.0,
        )


Step = Callable[[Scenario], Awaitable[list[Outcome]]]


async def until(check: Callable[[], Awaitable[object]], timeout_s: float = WAIT_S) -> object:
    """Poll `check` until it returns something truthy (returned) or `timeout_s` passes (None)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            return None
        await asyncio.sleep(0.5)


async def every_gateway_up(scenario: Scenario) -> list[Outcome]:
    """Each gateway answers its health check with its consumer running."""
    outcomes = []
    async with httpx.AsyncClient(timeout=5.0) as client:
        for agency in AGENCIES:
            answer = await client.get(f"{agency.url}/healthz")
            status = answer.json().get("status") if answer.status_code == 200 else None
            outcomes.append(
                Outcome(f"{agency.agency_id} gateway up", status == "ok", f"status {status}")
            )
    return outcomes


async def family_moves(scenario: Scenario) -> list[Outcome]:
    """Municipality A transfers a case to B through Primero's API; B accepts; A sees the
    case transferred and the dashboard shows B holding it."""
    step = "transfer A to B accepted"
    async with (
        scenario.person(SOCIAL_A, CASEWORKER) as a,
        scenario.person(SOCIAL_B, CASEWORKER) as b,
        scenario.dashboard() as dashboard,
    ):
        created = (await a.post("/api/v2/cases", json=primero_case())).json()["data"]
        sent = await a.post(
            f"/api/v2/cases/{created['id']}/transfers", json=primero_transfer(SOCIAL_B.agency_id)
        )
        transfer_id = sent.json()["data"]["id"]

        async def received() -> dict[str, Any] | None:
            cases = (await b.get("/api/v2/cases")).json()["data"]
            for case in cases:
                transfers = (await b.get(f"/api/v2/cases/{case['id']}/transfers")).json()
                for transfer in transfers["data"]:
                    if transfer["id"] == transfer_id:
                        return {"case": case["id"], "transfer": transfer}
            return None

        arrived = await until(received)
        if not isinstance(arrived, dict):
            return [Outcome(step, False, "the transfer never reached municipality B")]
        thread_id = arrived["case"]
        answer = await b.patch(
            f"/api/v2/cases/{thread_id}/transfers/{transfer_id}",
            json={"data": {"status": "accepted"}},
        )

        async def accepted_at_a() -> bool:
            view: dict[str, Any] = (await a.get(f"/api/v2/cases/{created['id']}")).json()["data"]
            return view.get("owned_by_agency_id") == SOCIAL_B.agency_id

        async def held_by_b() -> bool:
            shown = await dashboard.get(f"/api/v1/threads/{thread_id}")
            return shown.status_code == 200 and shown.json()["responsibility"] == SOCIAL_B.agency_id

        seen_at_a = await until(accepted_at_a)
        shown = await until(held_by_b)
    return [
        Outcome(step, answer.status_code == 200, f"PATCH accepted: {answer.status_code}"),
        Outcome("A sees the case owned by B", bool(seen_at_a), f"case {created['id']}"),
        Outcome("the dashboard shows B holding the case", bool(shown), f"thread {thread_id}"),
    ]


STEPS: Sequence[tuple[str, Step]] = (
    ("the federation is up", every_gateway_up),
    ("a family moves: municipality A transfers the case to B", family_moves),
)
