"""The tracker: follows every thread from its clear headers and raises alerts when stuck.

The modules named below are the pure core (no I/O, clock values passed in as Unix seconds):
`events` (TrackedEvent from a verified header), `state` (the fold of a thread's events),
`policy` (SLA deadlines from TOML), `escalation` (which alerts are due, and their keys),
`schedule` (the row a refold saves, what a sweep records, when a thread is next checked),
`listings` (the dashboard's lists). `ledger` applies them over a `ports.TrackerStore`,
which only keeps what it is given.
"""

from broker.lifecycle import FhirTaskStatus
from broker.tracker.errors import MixedThreads, NoCoordinators, PolicyError, TrackerError
from broker.tracker.escalation import (
    Audience,
    PlannedAlert,
    due_alerts,
    overdue_seconds,
    to_alerts,
)
from broker.tracker.events import TrackedEvent, event_from_header
from broker.tracker.policy import (
    DEFAULT_POLICY,
    Deadlines,
    Sla,
    SlaPolicy,
    deadlines,
    parse_policy,
)
from broker.tracker.state import Leg, Phase, ThreadState, fhir_status, thread_state

__all__ = [
    "DEFAULT_POLICY",
    "Audience",
    "Deadlines",
    "FhirTaskStatus",
    "Leg",
    "MixedThreads",
    "NoCoordinators",
    "Phase",
    "PlannedAlert",
    "PolicyError",
    "Sla",
    "SlaPolicy",
    "ThreadState",
    "TrackedEvent",
    "TrackerError",
    "deadlines",
    "due_alerts",
    "event_from_header",
    "fhir_status",
    "overdue_seconds",
    "parse_policy",
    "thread_state",
    "to_alerts",
]
