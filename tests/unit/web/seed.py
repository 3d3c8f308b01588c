"""A dashboard scenario: users, a settable clock and threads seeded through the ledger.

At NOW (T0 + 10h), as the default SLA policy sees it:
  overdue_6h   normal referral social-north -> hospital-east, sent T0, never received
  overdue_4h   high referral police-west -> school-south, sent T0+5h, never received
  due_soon     emergency referral social-north -> hospital-east, sent T0+9h50m (due in 5m)
  accepted     normal referral social-north -> hospital-east, received and accepted
  declined     transfer social-north -> social-south, received then declined
  redirected   normal referral school-south -> hospital-east, received then redirected
  withdrawal   consent withdrawal social-north -> hospital-east (acknowledged), police-west
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from broker.people.passwords import hash_password
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.policy import DEFAULT_POLICY
from broker.web import User, parse_users
from schemas.kinds import AckStatus, ConsentStatus, MessageKind, Urgency

T0 = 1_700_000_000
MINUTE, HOUR = 60, 3600
NOW = T0 + 10 * HOUR
SECRET = b"test-session-secret-of-32-bytes!"
METRICS_TOKEN = "metrics-token-for-tests-only"
PASSWORDS = {"cora": "cora-pass", "sam": "sam-pass", "pia": "pia-pass"}
NAMES = {
    "hospital-east": "East General Hospital",
    "social-north": "North Social Services",
    "school-south": "South Primary School",
    "police-west": "West Police District",
}
"""The directory's names; social-south is left unnamed: pages then show its id alone."""


def shown(agency: str) -> str:
    """How a page shows `agency`: its name with the id on hover, or the id alone."""
    if agency not in NAMES:
        return f'<span class="agency" data-agency="{agency}">{agency}</span>'
    return (
        f'<span class="agency named" data-agency="{agency}" title="{agency}">{NAMES[agency]}</span>'
    )


class Clock:
    """A clock the test sets: calling it gives `now` (Unix seconds)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_users() -> Mapping[str, User]:
    """cora: coordinator; sam: supervisor of hospital-east; pia: supervisor of police-west."""

    def cheap(password: str) -> str:
        # Small scrypt cost: tests check the logic, not the work factor.
        return hash_password(password, n=2**8, r=8, p=1)

    return parse_users(
        {
            "users": [
                {"name": "cora", "role": "coordinator", "password_hash": cheap("cora-pass")},
                {
                    "name": "sam",
                    "role": "supervisor",
                    "agency": "hospital-east",
                    "password_hash": cheap("sam-pass"),
                },
                {
                    "name": "pia",
                    "role": "supervisor",
                    "agency": "police-west",
                    "password_hash": cheap("pia-pass"),
                },
            ]
        }
    )


def new_id() -> str:
    return str(uuid.uuid4())


def original(
    thread_id: str,
    kind: MessageKind,
    sender: str,
    recipient: str,
    at: int,
    urgency: Urgency | None = None,
) -> TrackedEvent:
    """The message that opens a thread (a consent original is a withdrawal)."""
    status = ConsentStatus.WITHDRAWN.value if kind is MessageKind.CONSENT else None
    return TrackedEvent(
        new_id(), thread_id, kind, sender, recipient, at, urgency=urgency, status=status
    )


def answer(to: TrackedEvent, status: AckStatus, at: int) -> TrackedEvent:
    """The recipient's acknowledgement of `to`."""
    return TrackedEvent(
        new_id(),
        to.thread_id,
        MessageKind.ACKNOWLEDGEMENT,
        to.recipient,
        to.sender,
        at,
        in_reply_to=to.message_id,
        status=status.value,
    )


@dataclass
class Scenario:
    """Thread ids of the seeded threads, by role in the scenario."""

    ids: dict[str, str] = field(default_factory=dict)


async def seed(store: MemoryTrackerStore) -> Scenario:
    """Ingest the scenario's threads (see the module docstring)."""
    s = Scenario(
        {
            name: new_id()
            for name in (
                "overdue_6h",
                "overdue_4h",
                "due_soon",
                "accepted",
                "declined",
                "redirected",
                "withdrawal",
            )
        }
    )
    ref, tr, con = MessageKind.REFERRAL, MessageKind.TRANSFER, MessageKind.CONSENT
    i = s.ids
    accepted = original(
        i["accepted"], ref, "social-north", "hospital-east", T0 + HOUR, Urgency.NORMAL
    )
    transfer = original(i["declined"], tr, "social-north", "social-south", T0)
    redirect = original(i["redirected"], ref, "school-south", "hospital-east", T0, Urgency.NORMAL)
    w1 = original(i["withdrawal"], con, "social-north", "hospital-east", T0 + HOUR)
    w2 = original(i["withdrawal"], con, "social-north", "police-west", T0 + HOUR)
    due_soon = original(
        i["due_soon"],
        ref,
        "social-north",
        "hospital-east",
        T0 + 9 * HOUR + 50 * MINUTE,
        Urgency.EMERGENCY,
    )
    events = [
        original(i["overdue_6h"], ref, "social-north", "hospital-east", T0, Urgency.NORMAL),
        original(i["overdue_4h"], ref, "police-west", "school-south", T0 + 5 * HOUR, Urgency.HIGH),
        due_soon,
        accepted,
        answer(accepted, AckStatus.RECEIVED, T0 + HOUR + 5 * MINUTE),
        answer(accepted, AckStatus.ACCEPTED, T0 + 2 * HOUR),
        transfer,
        answer(transfer, AckStatus.RECEIVED, T0 + HOUR),
        answer(transfer, AckStatus.DECLINED, T0 + 2 * HOUR),
        redirect,
        answer(redirect, AckStatus.RECEIVED, T0 + HOUR),
        answer(redirect, AckStatus.REDIRECTED, T0 + 3 * HOUR),
        w1,
        w2,
        answer(w1, AckStatus.RECEIVED, T0 + 2 * HOUR),
    ]
    await ledger_for(store).ingest(events, received_at=T0 + 9 * HOUR + 55 * MINUTE)
    return s


def new_store() -> MemoryTrackerStore:
    """An empty in-memory tracker store."""
    return MemoryTrackerStore()


def ledger_for(store: MemoryTrackerStore) -> TrackerLedger:
    """The ledger that ingests into and sweeps `store` (default policy, one coordinator)."""
    return TrackerLedger(store, DEFAULT_POLICY, ["coordination-hub"])
