"""`caselink demo`: set up, start, run the scenario, report; then keep running or stop."""

import asyncio
from pathlib import Path

from rich.console import Console

from adapters.demo.alerts import AlertWatch, grant_guest_alerts
from adapters.demo.federation import (
    AGENCIES,
    POLICE_CALLBACK_KEY_FILE,
    POLICE_SYSTEM_PORT,
    SMTP_PORT,
    TRACKER_PORT,
)
from adapters.demo.mail import MailCatcher
from adapters.demo.police_system import CallbackReceiver
from adapters.demo.processes import Service, remember, start, stop_all, stop_leftovers, wait_healthy
from adapters.demo.report import Outcome, emails, sign_ins, summary
from adapters.demo.scenario import STEPS, Scenario
from adapters.demo.state import DemoState, create_state, remove_previous


async def run_demo(
    folder: Path, *, once: bool, console: Console, screenshots: Path | None = None
) -> int:
    """Exit status: 0 when every expected outcome was observed (`once`), or at Ctrl-C.

    `screenshots`: the folder the browser steps save their PNGs into (the README's)."""
    with console.status("Setting up: stopping what a previous run left, keys, directory, RabbitMQ"):
        stopped = stop_leftovers(folder)
        remove_previous(folder)
        state = create_state(folder)
        grant_guest_alerts()
    if stopped:
        console.print(f"  stopped {stopped} services a previous run left")
    console.print(f"[green]✓[/green] set up in {state.folder}: keys, signed directory, topology")
    services: list[Service] = []
    alerts = AlertWatch()
    police_system = CallbackReceiver(
        state.police_secret(POLICE_CALLBACK_KEY_FILE), POLICE_SYSTEM_PORT
    )
    mail = MailCatcher(SMTP_PORT)
    try:
        mail.start()
        await police_system.start()
        await _start_services(state, console, services)
        await alerts.start()
        scenario = Scenario(state, alerts, police_system, mail, screenshots=screenshots)
        outcomes = await _run_steps(scenario, console)
        summary(console, outcomes)
        emails(console, mail.caught)
        sign_ins(console, state)
        for png in scenario.asked:
            saved = "saved" if png.exists() else "[red]not saved[/red]"
            console.print(f"Screenshot {saved}: {png}")
        if once:
            return 0 if outcomes and all(o.ok for o in outcomes) else 1
        console.print("\nRunning until Ctrl-C.")
        await asyncio.Event().wait()
        return 0
    finally:
        await alerts.stop()
        await police_system.stop()
        mail.stop()
        with console.status("Stopping the services"):
            stop_all(services)


async def _start_services(state: DemoState, console: Console, services: list[Service]) -> None:
    """Start every service into `services` (the caller's, so that it stops all of them
    should one fail to start)."""
    services += [
        start(
            agency.agency_id,
            "gateway",
            state.gateway_config(agency),
            state.logs / f"{agency.agency_id}.log",
            f"{agency.url}/healthz",
        )
        for agency in AGENCIES
    ]
    services.append(
        start(
            "tracker",
            "tracker",
            state.tracker_config,
            state.logs / "tracker.log",
            f"http://127.0.0.1:{TRACKER_PORT}/healthz",
        )
    )
    services.append(
        start("notifier", "notifier", state.notifier_config, state.logs / "notifier.log", None)
    )
    remember(state.folder, services)
    for service in services:
        with console.status(f"Starting {service.name}"):
            await wait_healthy(service)
        console.print(f"[green]✓[/green] {service.name} running (log: {service.log})")


async def _run_steps(scenario: Scenario, console: Console) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for title, step in STEPS:
        with console.status(title):
            try:
                observed = await step(scenario)
            except Exception as error:  # a step's failure is an outcome, not the demo's end
                observed = [Outcome(title, False, f"failed: {type(error).__name__}")]
        for outcome in observed:
            mark = "[green]✓[/green]" if outcome.ok else "[red]✗[/red]"
            console.print(f"{mark} {outcome.step}: {outcome.detail}")
        outcomes.extend(observed)
    return outcomes
