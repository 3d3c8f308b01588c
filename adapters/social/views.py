"""What Primero answers: a case and a transition as its JSON (pure).

Like Primero's `_transition.json.jbuilder`, a transition shows its non-null columns only.
Times are ISO 8601 UTC with milliseconds, as Primero writes them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.social.cases import CaseFields
from adapters.social.transitions import Status, transition_type

MODULE_CP = "primeromodule-cp"


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return (
        datetime.fromtimestamp(seconds, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


@dataclass(frozen=True)
class TransitionView:
    """One referral or transfer as Primero lists it under its case."""

    id: str
    kind: str
    status: Status
    record_id: str
    recipient: str
    transitioned_by: str
    sender_agency: str
    created_at: float
    service: str | None = None
    notes: str | None = None
    consent_overridden: bool = False
    responded_at: float | None = None
    rejected_reason: str | None = None
    rejection_note: str | None = None
    can_answer: bool = False

    def document(self) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": self.id,
            "type": transition_type(self.kind),
            "status": self.status.value,
            "record_id": self.record_id,
            "record_type": "case",
            "transitioned_to": self.recipient,
            "transitioned_to_agency": self.recipient,
            "transitioned_by": self.transitioned_by,
            "transitioned_by_user_agency": self.sender_agency,
            "service": self.service,
            "notes": self.notes,
            "rejected_reason": self.rejected_reason,
            "rejection_note": self.rejection_note,
            "consent_overridden": self.consent_overridden,
            "remote": False,
            "responded_at": iso(self.responded_at),
            "created_at": iso(self.created_at),
            "record_access_denied": False,
            "user_can_accept_or_reject": self.can_answer,
        }
        return {key: value for key, value in full.items() if value is not None}


@dataclass(frozen=True)
class CaseView:
    """One case as Primero shows it: its fields, ids, owner and state."""

    id: str
    fields: CaseFields
    owned_by_agency: str
    transferred: bool
    created_at: float
    updated_at: float

    def document(self) -> dict[str, Any]:
        fields = self.fields.model_dump(mode="json", exclude_none=True)
        if not fields.get("protection_concerns"):
            fields.pop("protection_concerns", None)
        case_id = self.fields.case_id or self.id
        return {
            **fields,
            "id": self.id,
            "case_id": case_id,
            "case_id_display": case_id[-7:],
            "short_id": self.id[-7:],
            "module_id": self.fields.module_id or MODULE_CP,
            "record_state": True,
            "status": "transferred" if self.transferred else "open",
            "owned_by": self.owned_by_agency,
            "owned_by_agency_id": self.owned_by_agency,
            "created_at": iso(self.created_at),
            "last_updated_at": iso(self.updated_at),
        }
