"""Refusals in FHIR's own form: an OperationOutcome with the HTTP status R4's REST rules give.

400: not JSON, not the resource the URL names, or failing basic FHIR validation (the
fhir.resources models); 404: an unknown type or Task; 410: a Task whose body was erased;
422: a valid resource that breaks a rule (no owner, an unknown agency, a status change the
lifecycle refuses, a refused consent). Diagnostics are constants and field paths: nothing
from the body is ever repeated (schemas.field_errors renders the paths).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from adapters.health.vocabulary import REFUSAL_REASON
from broker.errors import CaselinkError
from schemas.field_errors import field_errors

FHIR_JSON = "application/fhir+json"
MAX_ISSUES = 10


class FhirRefusal(CaselinkError):
    """A request refused with an OperationOutcome: `status` (HTTP), `code` (IssueType)."""

    reason = "fhir_refused"
    status = 422
    code = "business-rule"

    def __init__(self, message: str, *, expression: str | None = None) -> None:
        super().__init__(message)
        self.expression = expression

    def issues(self) -> list[dict[str, Any]]:
        """The OperationOutcome's issues."""
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": str(self)}
        if self.expression is not None:
            issue["expression"] = [self.expression]
        return [issue]


class Unparseable(FhirRefusal):
    """Not JSON, or not a JSON object."""

    reason = "fhir_unparseable"
    status = 400
    code = "structure"


class WrongResource(FhirRefusal):
    """A resource other than the one the URL names (or the Task id is not the URL's)."""

    reason = "fhir_wrong_resource"
    status = 400
    code = "invalid"


class _FieldFaults(FhirRefusal):
    """A refusal with one issue per failing field: paths and constant messages only."""

    def __init__(self, message: str, errors: Iterable[Mapping[str, Any]]) -> None:
        super().__init__(message)
        self._errors = field_errors(errors)

    def issues(self) -> list[dict[str, Any]]:
        found = [
            {
                "severity": "error",
                "code": "required" if error.type.endswith("missing") else self.code,
                # Value errors raised by fhir.resources are not ours: their text is not shown.
                "diagnostics": "invalid value" if error.type == "value_error" else error.msg,
                "expression": [error.path],
            }
            for error in self._errors[:MAX_ISSUES]
        ]
        return found or super().issues()


class InvalidResource(_FieldFaults):
    """Fails basic FHIR validation (400); paths are FHIR's."""

    reason = "fhir_invalid"
    status = 400
    code = "structure"

    def __init__(self, resource_type: str, errors: Iterable[Mapping[str, Any]]) -> None:
        super().__init__(f"the {resource_type} does not validate as FHIR R4", errors)

    @classmethod
    def of(cls, resource_type: str, error: ValidationError) -> "InvalidResource":
        return cls(resource_type, error.errors(include_input=False))


class WrongRules(_FieldFaults):
    """Valid FHIR whose content breaks Caselink's schema (422); paths are the canonical
    body's (`subject.birth_date`), since the rule broken is Caselink's."""

    reason = "fhir_caselink_rules"
    code = "invariant"

    def __init__(self, what: str, errors: Iterable[Mapping[str, Any]]) -> None:
        super().__init__(f"the {what} does not meet Caselink's rules", errors)


class RuleBroken(FhirRefusal):
    """A valid resource that breaks one of Caselink's rules (422, business-rule)."""

    reason = "fhir_rule"


class Missing(RuleBroken):
    """Something Caselink needs that FHIR leaves optional (422, required)."""

    reason = "fhir_missing"
    code = "required"


class NotSupported(RuleBroken):
    """Valid FHIR that Caselink does not take (422, not-supported)."""

    reason = "fhir_not_supported"
    code = "not-supported"


class SharingRefused(RuleBroken):
    """The gateway's consent rules refuse the referral (422, business-rule): `reason` is
    their slug (`recipient_not_covered`...), named in the diagnostics and as the issue's
    details coding; the rules' own message (ids, dates) is not repeated."""

    def __init__(self, reason: str, *, expression: str) -> None:
        super().__init__(f"the consent rules refuse this referral: {reason}", expression=expression)
        self.reason = reason

    def issues(self) -> list[dict[str, Any]]:
        found = super().issues()
        found[0]["details"] = {"coding": [{"system": REFUSAL_REASON, "code": self.reason}]}
        return found


class ConsentClash(FhirRefusal):
    """The Consent's id is recorded already with another content, or withdrawn (409)."""

    reason = "consent_conflict"
    status = 409
    code = "conflict"


class NotFound(FhirRefusal):
    reason = "fhir_not_found"
    status = 404
    code = "not-found"


class MethodNotAllowed(FhirRefusal):
    """A method a resource does not take, or an update that would create a Task (405)."""

    reason = "fhir_method_not_allowed"
    status = 405
    code = "not-supported"


class UnsupportedMediaType(FhirRefusal):
    reason = "fhir_media_type"
    status = 415
    code = "not-supported"


class Forbidden(FhirRefusal):
    reason = "fhir_forbidden"
    status = 403
    code = "forbidden"


def operation_outcome(refusal: FhirRefusal) -> dict[str, Any]:
    """The OperationOutcome that answers `refusal`."""
    return {"resourceType": "OperationOutcome", "issue": refusal.issues()}
