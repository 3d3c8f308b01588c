"""What the dashboard shows, as pydantic models: the JSON API, pages and CSV all render these.

Built from the tracker's records only (ids, agencies, kinds, urgencies, phases and times), so
no output can carry anything a record does not hold.
"""

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from broker.lifecycle import FhirTaskStatus
from broker.tracker.access import SignInMethod, SignInOutcome, SignInRecord, ViewRecord
from broker.tracker.escalation import overdue_seconds
from broker.tracker.listings import accepted_seconds, limbo_seconds
from broker.tracker.records import AgencyFigures, AgencyWeek, ThreadRow, TimelineEntry
from broker.tracker.state import Phase, fhir_status
from broker.web.names import AgencyNames, no_names
from schemas.kinds import LawfulBasis, MessageKind, Urgency

_UNIX = "Unix seconds"


class ThreadOut(BaseModel):
    """One thread: who, what kind, where it stands and how late it is."""

    thread_id: str
    kind: MessageKind | None = Field(description="null while only answers are known")
    phase: Phase
    fhir_status: FhirTaskStatus | None = Field(description="HL7 FHIR Task status of the phase")
    urgency: Urgency | None
    sender: str | None
    recipients: list[str]
    acknowledged_by: list[str] = Field(description="recipients that have answered")
    responsibility: str | None = Field(
        description="agency holding a transferred case now: the sender until accepted"
    )
    limbo_seconds: int | None = Field(
        description="a transfer not taken over: seconds since it was sent; null otherwise"
    )
    accepted_seconds: int | None = Field(
        default=None,
        description="accepted, with neither a plan recorded nor an outcome: seconds since the"
        " acceptance; null otherwise",
    )
    opened_at: int | None = Field(description=_UNIX)
    respond_by: int | None = Field(description=_UNIX)
    delivered_at: int | None = Field(description=_UNIX)
    responded_at: int | None = Field(description=_UNIX)
    closed_at: int | None = Field(description=_UNIX)
    current_deadline: int | None = Field(description="earliest unmet deadline, Unix seconds")
    overdue_seconds: int | None = Field(description="seconds past that deadline; null if not")
    updated_at: float = Field(description=_UNIX)
    basis: LawfulBasis | None = Field(
        default=None, description="lawful basis it was sent under instead of a consent"
    )
    agency_names: dict[str, str] = Field(
        default_factory=dict,
        description="the directory's names of the sender, recipients and holder, by id "
        "(an id the directory in force does not know is left out)",
    )

    @classmethod
    def of(cls, row: ThreadRow, now: int, names: AgencyNames = no_names) -> "ThreadOut":
        """The view of `row` at `now`, its agencies named by `names`."""
        state = row.state
        involved = {state.sender, state.responsibility, *state.recipients}
        return cls(
            thread_id=state.thread_id,
            kind=state.kind,
            phase=state.phase,
            fhir_status=fhir_status(state.phase),
            urgency=state.urgency,
            sender=state.sender,
            recipients=list(state.recipients),
            acknowledged_by=sorted(state.acknowledged),
            responsibility=state.responsibility,
            limbo_seconds=limbo_seconds(state, now),
            accepted_seconds=accepted_seconds(state, now),
            opened_at=state.opened_at,
            respond_by=state.respond_by,
            delivered_at=state.delivered_at,
            responded_at=state.responded_at,
            closed_at=state.closed_at,
            current_deadline=row.current_deadline,
            overdue_seconds=overdue_seconds(row.current_deadline, now),
            updated_at=row.updated_at,
            basis=state.basis,
            agency_names=_named(sorted(a for a in involved if a), names),
        )


class ThreadList(BaseModel):
    """A page of threads as seen at `now`."""

    now: int = Field(description="the moment overdue_seconds refers to, Unix seconds")
    limit: int
    offset: int
    items: list[ThreadOut]


class TimelineOut(BaseModel):
    """One event of a thread, from its clear header."""

    message_id: str
    kind: str
    sender: str
    recipient: str
    status: str | None
    issued_at: int = Field(description="sender's clock, Unix seconds")
    received_at: float = Field(description="tracker's clock, Unix seconds")

    @classmethod
    def of(cls, entry: TimelineEntry) -> "TimelineOut":
        """The view of one timeline entry."""
        return cls(
            message_id=entry.message_id,
            kind=entry.kind,
            sender=entry.sender,
            recipient=entry.recipient,
            status=entry.status,
            issued_at=entry.issued_at,
            received_at=entry.received_at,
        )


class AgencyOut(BaseModel):
    """Figures of one agency as a recipient of referrals and transfers."""

    agency: str
    agency_name: str | None = Field(default=None, description="its name in the directory")
    open: int
    overdue: int
    median_receipt_s: float | None = Field(description="issued to received, seconds")
    median_answer_s: float | None = Field(description="issued to accepted/declined, seconds")

    @classmethod
    def of(cls, figures: AgencyFigures, names: AgencyNames = no_names) -> "AgencyOut":
        """The view of one agency's figures."""
        return cls(
            agency=figures.agency,
            agency_name=names(figures.agency),
            open=figures.open,
            overdue=figures.overdue,
            median_receipt_s=figures.median_receipt_s,
            median_answer_s=figures.median_answer_s,
        )


class AgencyWeekOut(BaseModel):
    """One recipient agency's referrals and transfers issued in one week (Monday, UTC)."""

    agency: str
    agency_name: str | None = Field(default=None, description="its name in the directory")
    week: str = Field(description="the Monday starting the week, YYYY-MM-DD (UTC)")
    week_start: int = Field(description="that Monday 00:00 UTC, Unix seconds")
    received: int = Field(description="referrals and transfers issued to it that week")
    overdue: int = Field(
        description="of those, how many passed their receipt or answer deadline unmet"
    )
    median_receipt_s: float | None = Field(description="issued to received, seconds")
    median_answer_s: float | None = Field(description="issued to accepted/declined, seconds")

    @classmethod
    def of(cls, figures: AgencyWeek, names: AgencyNames = no_names) -> "AgencyWeekOut":
        """The view of one agency's week."""
        return cls(
            agency=figures.agency,
            agency_name=names(figures.agency),
            week=iso_day(figures.week),
            week_start=figures.week,
            received=figures.received,
            overdue=figures.overdue,
            median_receipt_s=figures.median_receipt_s,
            median_answer_s=figures.median_answer_s,
        )


def iso_day(seconds: int) -> str:
    """A Unix time's UTC date as YYYY-MM-DD."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d")


def _named(agency_ids: list[str], names: AgencyNames) -> dict[str, str]:
    found = {agency: names(agency) for agency in agency_ids}
    return {agency: name for agency, name in found.items() if name is not None}


class ViewOut(BaseModel):
    """Audit: one user looked at the thread."""

    user: str
    at: float = Field(description=_UNIX)


class ViewRecordOut(BaseModel):
    """Audit: one showing of thread data, to one user."""

    user: str
    at: float = Field(description=_UNIX)
    view: str = Field(description="<surface>:<subject>, e.g. page:unanswered, export:agencies")
    thread_id: str | None = Field(description="the thread shown; null for lists and figures")
    filter: str = Field(description="the filters and paging asked for, as a URL query")

    @classmethod
    def of(cls, record: ViewRecord) -> "ViewRecordOut":
        """The view of one view record."""
        return cls(
            user=record.user,
            at=record.at,
            view=record.view,
            thread_id=record.thread_id,
            filter=record.filter,
        )


class SignInOut(BaseModel):
    """Audit: one checked sign-in (never its password)."""

    name: str = Field(description="the name as typed (non-printable characters as ?)")
    address: str = Field(description="the client address the server saw")
    at: float = Field(description=_UNIX)
    outcome: SignInOutcome
    method: SignInMethod = Field(description="the login form or HTTP Basic")

    @classmethod
    def of(cls, record: SignInRecord) -> "SignInOut":
        """The view of one sign-in record."""
        return cls(
            name=record.name,
            address=record.address,
            at=record.at,
            outcome=record.outcome,
            method=record.method,
        )


class Health(BaseModel):
    """Liveness of the web process."""

    status: str
