"""What a person sees: each step as it runs, then a summary table and the sign-ins."""

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from adapters.demo.federation import AGENCIES, TRACKER_PORT
from adapters.demo.mail import Caught
from adapters.demo.state import DemoState


@dataclass(frozen=True)
class Outcome:
    """What a step observed: `ok` only when the expected outcome was seen."""

    step: str
    ok: bool
    detail: str


def summary(console: Console, outcomes: Sequence[Outcome]) -> None:
    table = Table(title="Scenario", show_lines=False)
    table.add_column("step")
    table.add_column("observed")
    table.add_column("detail", overflow="fold")
    for outcome in outcomes:
        mark = "[green]yes[/green]" if outcome.ok else "[red]NO[/red]"
        table.add_row(outcome.step, mark, outcome.detail)
    console.print(table)


def emails(console: Console, caught: Sequence[Caught]) -> None:
    """The emails the notifier sent, as the mail catcher took them: who and what about."""
    table = Table(title=f"Emails sent by the notifier ({len(caught)})")
    table.add_column("to")
    table.add_column("subject", overflow="fold")
    for email in caught:
        table.add_row(", ".join(email.to), email.subject)
    console.print(table)


def sign_ins(console: Console, state: DemoState) -> None:
    console.print(f"\nDemo folder: {state.folder} (replaced by the next run)")
    console.print(f"Dashboard: http://127.0.0.1:{TRACKER_PORT}/  (sign-ins below)")
    console.print("Sign-ins (synthetic, for this machine only; also in sign-ins.toml there):")
    console.print(f"  dashboard  coordinator / {state.password('dashboard', 'coordinator')}")
    for agency in AGENCIES:
        console.print(f"  [bold]{agency.name}[/bold] ({agency.agency_id}) at {agency.url}")
        if agency.adapter is None:  # no system: its people work in the inbox pages
            console.print(f"    inbox pages: {agency.inbox_page}")
        for sign_in in state.sign_ins:
            if sign_in.where == agency.agency_id:
                how = "token" if sign_in.kind == "token" else "password"
                console.print(f"    {sign_in.name:<11} {how}: {sign_in.secret}")
