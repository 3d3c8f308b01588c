"""The scenario: each step through the adapter that agency would really use, each outcome
checked against what the services report (never assumed).

A step is an async function of the Scenario (the state, a client per agency, the alerts
seen) returning one Outcome per expected observation. Steps run in order; a step that
fails records its outcomes and the scenario goes on, so the summary shows every result.
"""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.demo.alerts import AlertWatch
from adapters.demo.browser import (
    accept_in_inbox,
    browser_missing,
    chromium,
    dashboard_agencies,
    new_page,
    sign_in_to_inbox,
)
from adapters.demo.federation import (
    AGENCIES,
    CASEWORKER,
    COORDINATOR_USER,
    COORDINATORS_EMAIL,
    DUTY_WORKER,
    HOSPITAL,
    POLICE,
    POLICE_INTAKE_KEY_FILE,
    SOCIAL_A,
    SOCIAL_B,
    SOCIAL_C,
    SUPERVISOR,
    SUPERVISOR_DISPLAY_NAME,
    TRACKER_PORT,
    DemoAgency,
    duty_email,
)
from adapters.demo.mail import MailCatcher
from adapters.demo.police_system import CallbackReceiver, signed_headers
from adapters.demo.report import Outcome
from adapters.demo.requests import (
    hospital_emergency_without_consent,
    hospital_referral,
    hospital_referral_citing,
)
from adapters.demo.state import DemoState
from adapters.education.sample import sample_concern_csv, sample_row
from adapters.police.sample import sample_notification
from adapters.social.sample import sample_case, sample_transfer
from schemas.alert import Alert, AlertLevel, AlertReason

WAIT_S = 30.0
# The demo's SLA (federation.DEMO_SLA) escalates a minute after a referral is sent.
SLA_WAIT_S = 150.0


@dataclass
class Scenario:
    """What the steps share."""

    state: DemoState
    alerts: AlertWatch
    police_system: CallbackReceiver
    mail: MailCatcher
    notes: dict[str, str] = field(default_factory=dict)  # ids one step leaves for a later one
    screenshots: Path | None = None  # where the browser steps save theirs (None: nowhere)
    asked: list[Path] = field(default_factory=list)  # the screenshots asked for so far

    def screenshot(self, name: str) -> Path | None:
        """Where a step saves its screenshot `name`, or None when none are wanted; the
        previous run's file is removed first, so that only a new one is reported."""
        if self.screenshots is None:
            return None
        path = self.screenshots / name
        path.unlink(missing_ok=True)
        self.asked.append(path)
        return path

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
        created = (await a.post("/api/v2/cases", json=sample_case())).json()["data"]
        sent = await a.post(
            f"/api/v2/cases/{created['id']}/transfers", json=sample_transfer(SOCIAL_B.agency_id)
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


async def accept_at_social_a(scenario: Scenario, thread_id: str) -> int | None:
    """A caseworker of municipality A accepts the referral of `thread_id` through Primero's
    API, once it has arrived; the PATCH's status, or None when it never arrived."""
    async with scenario.person(SOCIAL_A, CASEWORKER) as primero:

        async def referral_id() -> str | None:
            listed = await primero.get(f"/api/v2/cases/{thread_id}/referrals")
            if listed.status_code != 200 or not listed.json()["data"]:
                return None
            found: str = listed.json()["data"][0]["id"]
            return found

        found = await until(referral_id)
        if not isinstance(found, str):
            return None
        answer = await primero.patch(
            f"/api/v2/cases/{thread_id}/referrals/{found}", json={"data": {"status": "accepted"}}
        )
        return answer.status_code


async def police_refer(scenario: Scenario) -> list[Outcome]:
    """The police post a signed webhook about a child; municipality A accepts; the police
    system gets the answer back as a signed callback."""
    secret = scenario.state.police_secret(POLICE_INTAKE_KEY_FILE)
    body = json.dumps(sample_notification(notification_id="PPN-DEMO-0001", consent=True)).encode()
    async with httpx.AsyncClient(base_url=POLICE.url, timeout=10.0) as police:
        posted = await police.post(
            "/police/notifications",
            content=body,
            headers=signed_headers(secret, "demo-notification-1", body),
        )
    if posted.status_code != 202:
        return [Outcome("police notification taken", False, f"answered {posted.status_code}")]
    thread_id = posted.json()["referrals"][0]["thread_id"]
    accepted = await accept_at_social_a(scenario, thread_id)
    called_back = await scenario.police_system.wait_for(
        "caselink.referral.accepted", thread_id, WAIT_S
    )
    return [
        Outcome("police notification taken", True, f"202, thread {thread_id}"),
        Outcome("social services A accept it", accepted == 200, f"PATCH: {accepted}"),
        Outcome("the police system hears it was accepted", called_back, "signed callback"),
    ]


async def school_export(scenario: Scenario) -> list[Outcome]:
    """The school exports two reports of concern, one malformed: the receipt sends one and
    refuses the other, row by row."""
    rows = [
        sample_row(record_id="DEMO-0001", urgency="routine"),
        sample_row(record_id="DEMO-0002", child_dob="31/02/2016"),  # no such day
    ]
    exports = scenario.state.school_exports()
    partial = exports / "concerns.csv.part"
    partial.write_bytes(sample_concern_csv(rows))
    partial.rename(exports / "concerns.csv")  # written whole, then renamed, as schools do

    async def receipt() -> dict[str, Any] | None:
        done = exports / "done"
        found = sorted(done.glob("*.receipt.json")) if done.exists() else []
        return json.loads(found[0].read_text()) if found else None

    read = await until(receipt)
    if not isinstance(read, dict):
        return [Outcome("the school's export processed", False, "no receipt")]
    outcomes = {row["row"]: row for row in read["rows"]}
    # Rows are numbered as a spreadsheet shows them: the header is row 1.
    sent, refused = outcomes.get("2", {}), outcomes.get("3", {})
    if sent.get("outcome") == "sent":
        scenario.notes["school_thread"] = sent["thread_id"]
    return [
        Outcome(
            "the school's good row is sent",
            sent.get("outcome") == "sent",
            f"row 2: thread {sent.get('thread_id')}",
        ),
        Outcome(
            "the malformed row is refused in the receipt",
            refused.get("outcome") == "refused",
            f"row 3: {refused.get('reason')} ({', '.join(refused.get('fields', []))})",
        ),
    ]


async def hospital_refers(scenario: Scenario) -> list[Outcome]:
    """The hospital posts a FHIR Bundle; municipality A accepts it through Primero's API;
    the hospital reads the Task as accepted."""
    async with scenario.system(HOSPITAL) as fhir:
        posted = await post_bundle(fhir, hospital_referral(SOCIAL_A.agency_id))
        if posted is None:
            return [Outcome("the FHIR Bundle taken", False, "refused")]
        task_id, thread_id = posted
        accepted = await accept_at_social_a(scenario, thread_id)

        async def accepted_task() -> bool:
            read = await fhir.get(f"/fhir/Task/{task_id}")
            return read.status_code == 200 and read.json()["status"] == "accepted"

        seen = await until(accepted_task)
    return [
        Outcome("the FHIR Bundle taken", True, f"Task/{task_id}"),
        Outcome("social services A accept it (Primero API)", accepted == 200, f"PATCH: {accepted}"),
        Outcome("the hospital reads the Task as accepted", bool(seen), f"thread {thread_id}"),
    ]


async def answered_in_the_browser(scenario: Scenario) -> list[Outcome]:
    """The hospital refers a child to municipality C, which has no case system: its duty
    social worker signs in to the gateway's inbox pages in the browser, finds the referral
    in the list, opens it and accepts it; the hospital reads the Task as accepted and the
    tracker shows the thread answered by C."""
    step = "the duty social worker accepts it in the browser"
    missing = browser_missing()
    if missing is not None:  # before sending: no referral left waiting for nobody
        return [Outcome(step, False, missing)]
    async with scenario.system(HOSPITAL) as fhir:
        posted = await post_bundle(fhir, hospital_referral(SOCIAL_C.agency_id))
        if posted is None:
            return [Outcome("the FHIR Bundle to municipality C taken", False, "refused")]
        task_id, thread_id = posted
        password = scenario.state.password(SOCIAL_C.agency_id, DUTY_WORKER)
        async with chromium() as browser:
            page = await new_page(browser)
            await sign_in_to_inbox(page, SOCIAL_C.url, DUTY_WORKER, password)
            listed = await accept_in_inbox(
                page, SOCIAL_C.url, task_id, scenario.screenshot("inbox.png")
            )

        async def accepted_task() -> bool:
            read = await fhir.get(f"/fhir/Task/{task_id}")
            return read.status_code == 200 and read.json()["status"] == "accepted"

        seen = await until(accepted_task)
    async with scenario.dashboard() as dashboard:

        async def answered() -> bool:
            shown = await dashboard.get(f"/api/v1/threads/{thread_id}")
            if shown.status_code != 200:
                return False
            thread = shown.json()
            return thread["phase"] == "accepted" and SOCIAL_C.agency_id in thread["acknowledged_by"]

        tracked = await until(answered)
    return [
        Outcome("the FHIR Bundle to municipality C taken", True, f"Task/{task_id}"),
        Outcome(
            step,
            listed == "accepted",
            f"{DUTY_WORKER} at {SOCIAL_C.inbox_page}: "
            + ("never listed" if listed is None else f"listed, opened, now {listed}"),
        ),
        Outcome("the hospital reads the Task as accepted", bool(seen), f"thread {thread_id}"),
        Outcome("the tracker shows it answered by C", bool(tracked), "phase accepted"),
    ]


async def dashboard_in_the_browser(scenario: Scenario) -> list[Outcome]:
    """The coordinator opens the dashboard's Agencies page in the browser: its charts are
    drawn, and municipality C is there by its name."""
    step = "the coordinators' charts drawn"
    missing = browser_missing()
    if missing is not None:
        return [Outcome(step, False, missing)]
    password = scenario.state.password("dashboard", COORDINATOR_USER)
    async with chromium() as browser:
        page = await new_page(browser)
        charts, text = await dashboard_agencies(
            page,
            f"http://127.0.0.1:{TRACKER_PORT}",
            COORDINATOR_USER,
            password,
            scenario.screenshot("dashboard-agencies.png"),
        )
    named = SOCIAL_C.name in text
    return [
        Outcome(
            step,
            charts > 0 and named,
            f"{charts} charts on /agencies, {SOCIAL_C.name} {'listed' if named else 'missing'}",
        )
    ]


async def unanswered_flagged(scenario: Scenario) -> list[Outcome]:
    """The school's referral was left unanswered: the tracker reminds at the deadline and
    escalates at twice the deadline (the demo's SLA: a minute)."""
    thread_id = scenario.notes.get("school_thread")
    if thread_id is None:
        return [Outcome("an unanswered referral flagged", False, "no referral from the school")]

    def about(level: AlertLevel) -> Callable[[Alert], bool]:
        return lambda alert: alert.thread_id == thread_id and alert.level is level

    reminded = await scenario.alerts.wait_for(about(AlertLevel.REMINDER), SLA_WAIT_S)
    escalated = await scenario.alerts.wait_for(about(AlertLevel.ESCALATION), SLA_WAIT_S)
    return [
        Outcome(
            "the tracker flags the unanswered referral",
            reminded is not None,
            f"{reminded.reason.value} to {reminded.agency}" if reminded else "no reminder",
        ),
        Outcome(
            "then escalates it",
            escalated is not None,
            f"{escalated.reason.value} to {escalated.agency}" if escalated else "no escalation",
        ),
    ]


async def post_bundle(fhir: httpx.AsyncClient, bundle: dict[str, Any]) -> tuple[str, str] | None:
    """Post a transaction Bundle; the Task id and thread id of the referral it made, or
    None when it was refused."""
    posted = await fhir.post(
        "/fhir/Bundle", json=bundle, headers={"content-type": "application/fhir+json"}
    )
    if posted.status_code != 200:
        return None
    location = next(
        entry["response"]["location"]
        for entry in posted.json()["entry"]
        if "location" in entry["response"]
    )
    task = (await fhir.get(f"/fhir/{location}")).json()
    thread: str = next(i["value"] for i in task["identifier"] if i["system"].endswith("thread"))
    return location.split("/")[1], thread


async def consent_withdrawn(scenario: Scenario) -> list[Outcome]:
    """A parent's consent covers both municipalities; the hospital refers the child to each
    under it; the parent withdraws it at the hospital; both acknowledge the withdrawal, and
    the tracker follows it to the last acknowledgement; a later referral under it is refused."""
    consent_id = str(uuid.uuid4())
    async with scenario.system(HOSPITAL) as fhir:
        sent = [
            await post_bundle(
                fhir,
                hospital_referral(a.agency_id, consent_id=consent_id, any_social_services=True),
            )
            for a in (SOCIAL_A, SOCIAL_B)
        ]
    if None in sent:
        failed = sum(1 for posted in sent if posted is None)
        return [Outcome("two referrals under one consent", False, f"{failed} refused")]
    async with scenario.person(HOSPITAL, SUPERVISOR) as hospital:
        withdrawn = await hospital.post(f"/v1/consents/records/{consent_id}/withdraw")
        notices = withdrawn.json().get("notices", []) if withdrawn.status_code == 202 else []
        sent_items = (await hospital.get("/v1/sent")).json()
        threads = {item["thread_id"] for item in sent_items if item["message_id"] in notices}
    if len(threads) != 1:
        return [Outcome("the withdrawal sent", False, f"{withdrawn.status_code}, {len(notices)}")]
    (thread_id,) = threads
    async with scenario.dashboard() as dashboard:

        async def acknowledged() -> bool:
            shown = await dashboard.get(f"/api/v1/threads/{thread_id}")
            return shown.status_code == 200 and set(shown.json()["acknowledged_by"]) == {
                SOCIAL_A.agency_id,
                SOCIAL_B.agency_id,
            }

        followed = await until(acknowledged)
    async with scenario.system(HOSPITAL) as fhir:
        refused = await fhir.post(
            "/fhir/Bundle",
            json=hospital_referral_citing(SOCIAL_A.agency_id, consent_id),
            headers={"content-type": "application/fhir+json"},
        )
    return [
        Outcome("two referrals under one consent", True, "to municipalities A and B"),
        Outcome("the parent withdraws it", len(notices) == 2, f"{len(notices)} notices sent"),
        Outcome("every recipient acknowledges", bool(followed), f"thread {thread_id}"),
        Outcome(
            "a later referral under it is refused",
            refused.status_code == 422 and "consent_withdrawn" in refused.text,
            f"answered {refused.status_code}",
        ),
    ]


async def emergency_without_consent(scenario: Scenario) -> list[Outcome]:
    """An emergency referral shared without consent, on the child-protection basis and
    authorised by the hospital's supervisor: it goes, and the coordinators see it flagged."""
    bundle = hospital_emergency_without_consent(SOCIAL_B.agency_id, SUPERVISOR_DISPLAY_NAME)
    async with scenario.system(HOSPITAL) as fhir:
        posted = await post_bundle(fhir, bundle)
    if posted is None:
        return [Outcome("an emergency referral without consent sent", False, "refused")]
    _, thread_id = posted

    def flagged(alert: Alert) -> bool:
        return alert.thread_id == thread_id and alert.reason is AlertReason.SHARED_WITHOUT_CONSENT

    alert = await scenario.alerts.wait_for(flagged, WAIT_S)
    async with scenario.dashboard() as dashboard:
        listed = (await dashboard.get("/api/v1/shared-without-consent")).json()
    shown = any(item["thread_id"] == thread_id for item in listed["items"])
    return [
        Outcome("an emergency referral without consent sent", True, f"thread {thread_id}"),
        Outcome(
            "the coordinators are alerted",
            alert is not None,
            f"{alert.reason.value} ({alert.detail})" if alert else "no alert",
        ),
        Outcome("the dashboard lists it", shown, "shared without consent"),
    ]


async def people_emailed(scenario: Scenario) -> list[Outcome]:
    """The notifier emailed the escalation of the unanswered referral to the coordinators,
    each new referral to its recipient's duty address (from the gateways' arrival events),
    and no email holds anything of a referral's content (the school's child's name)."""
    thread_id = scenario.notes.get("school_thread", "")

    async def escalation_emailed() -> bool:
        return any(
            COORDINATORS_EMAIL in email.to and thread_id.encode() in email.raw
            for email in scenario.mail.caught
        )

    emailed = await until(escalation_emailed, WAIT_S)

    async def arrivals_emailed() -> bool:
        return any(email.message_id for email in scenario.mail.caught)

    await until(arrivals_emailed, WAIT_S)
    arrivals = [email for email in scenario.mail.caught if email.message_id]
    to_duty = all(len(email.to) == 1 and email.to[0].startswith("duty@") for email in arrivals)
    # The agency with no case system hears of its referral by email: its only way to know.
    browser_told = any(duty_email(SOCIAL_C.agency_id) in email.to for email in arrivals)
    # The school's sample child, as the export named her: never in an email.
    leaked = [e for e in scenario.mail.caught if b"Okafor" in e.raw or b"Maya" in e.raw]
    return [
        Outcome(
            "the coordinators are emailed the escalation",
            bool(emailed) and bool(thread_id),
            f"{len(scenario.mail.caught)} emails caught",
        ),
        Outcome(
            "new referrals are emailed to their recipients' duty addresses only, the "
            "browser-only agency's among them",
            bool(arrivals) and to_duty and browser_told,
            f"{len(arrivals)} new-referral emails",
        ),
        Outcome("no email holds case content", not leaked, f"{len(leaked)} with a name"),
    ]


STEPS: Sequence[tuple[str, Step]] = (
    ("the federation is up", every_gateway_up),
    ("police post a webhook about a child", police_refer),
    ("the school drops an export of two concerns", school_export),
    ("the hospital posts a FHIR referral", hospital_refers),
    ("a municipality with no case system answers in the browser", answered_in_the_browser),
    ("a family moves: municipality A transfers the case to B", family_moves),
    ("a parent withdraws consent", consent_withdrawn),
    ("an emergency referral without consent", emergency_without_consent),
    ("a referral left unanswered", unanswered_flagged),
    ("the people are emailed", people_emailed),
    ("the coordinators' dashboard in the browser", dashboard_in_the_browser),
)
