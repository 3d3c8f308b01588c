"""Primero's error form, `{"errors": [{"status", "resource", "message", "detail"}]}` (pure).

Primero (`app/services/error_service.rb`) answers every failure with a list of entries
keyed `status` (the HTTP code), `resource` (the request path), `message` (a short phrase,
or for a validation a list of i18n keys) and `detail` (the field at fault, or null). A
message here names fields and categories only, never a value the caller sent.
"""

from typing import Any

from broker.errors import CaselinkError


class PrimeroError(CaselinkError):
    """A request refused in Primero's form; `detail` names the field at fault (or None)."""

    reason = "primero_refused"

    def __init__(self, status: int, message: str | list[str], detail: str | None = None) -> None:
        text = message if isinstance(message, str) else ", ".join(message)
        super().__init__(f"{status} {text}" + (f" ({detail})" if detail else ""))
        self.status = status
        self.message = message
        self.detail = detail

    def document(self, resource: str) -> dict[str, Any]:
        """The JSON body Primero would answer, for the request path `resource`."""
        entry = {
            "status": self.status,
            "resource": resource,
            "message": self.message,
            "detail": self.detail,
        }
        return {"errors": [entry]}


def invalid(detail: str, key: str = "errors.models.case.invalid") -> PrimeroError:
    """A 422 naming the field at fault, with Primero's list-of-i18n-keys message."""
    return PrimeroError(422, [key], detail)


def not_found() -> PrimeroError:
    return PrimeroError(404, "Not Found")


def forbidden() -> PrimeroError:
    return PrimeroError(403, "Forbidden")


def conflict(key: str, detail: str = "status") -> PrimeroError:
    """409: the transition is not allowed from where the referral or transfer stands.

    Primero answers a disallowed transition 200 and changes nothing; Caselink refuses it.
    """
    return PrimeroError(409, [key], detail)


CONSENT_REFUSED = "consent"
"""Primero's `detail` for a referral or transfer refused for want of consent."""
