"""The scenario: each step through the adapter that agency would really use, each outcome
checked against what the services report (never assumed).

A step is an async function of the Scenario (the state, a client per agency, the alerts
seen) returning one Outcome per expected observation. Steps run in order; a step that
fails records its outcomes and the scenario goes on, so the summary shows every result.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from broker.demo.alerts import AlertWatch
from broker.demo.federation import AGENCIES, COORDINATOR_USER, TRACKER_PORT, DemoAgency
from broker.demo.report import Outcome
from broker.demo.state import DemoState

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


STEPS: Sequence[tuple[str, Step]] = (("the federation is up", every_gateway_up),)
