"""Errors as the police system reads them: RFC 9457 problem details (application/problem+json).

    {"type": "https://caselink.example/problems/police/invalid-notification",
     "title": "The notification does not follow the schema",
     "status": 422,
     "detail": "3 fields are invalid",
     "errors": [{"pointer": "/children/0/dob", "detail": "Input should be a valid date"}]}

`type` names the problem (stable: a police system may branch on it), `title` is fixed per
type, `detail` is one line of ours and `errors` (422 only) point into the posted JSON
(RFC 6901) with messages from `schemas/field_errors.py`. Nothing posted is ever repeated:
no value, no unknown key's name (shown by its position), no webhook-id.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi.responses import Response

from schemas.field_errors import FieldError

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://caselink.example/problems/police/"


@dataclass(frozen=True)
class Problem:
    slug: str
    title: str
    status: int
    detail: str
    errors: Sequence[FieldError] = ()
    headers: dict[str, str] = field(default_factory=dict)
    reason: str | None = None  # consent-refused: which sending rule, as a slug

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.reason is not None:
            document["reason"] = self.reason
        if self.errors:
            document["errors"] = [
                {"pointer": pointer(error.loc), "detail": error.msg} for error in self.errors
            ]
        return document

    def response(self) -> Response:
        return Response(
            json.dumps(self.as_json(), ensure_ascii=False).encode(),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers,
        )


def pointer(loc: Sequence[str | int]) -> str:
    """A JSON Pointer (RFC 6901) to a location; pydantic's union tags are left out."""
    parts = [str(part) for part in loc if not _is_tag(part)]
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def _is_tag(part: str | int) -> bool:
    # A discriminated union puts the tag's value in the location: `consent_to_share.True.x`.
    return part in ("True", "False")


def unauthenticated(reason: str) -> Problem:
    return Problem(
        "invalid-signature",
        "The webhook signature does not verify",
        401,
        f"refused: {reason.replace('_', ' ')}",
    )


def too_large(limit: int) -> Problem:
    return Problem("payload-too-large", "The notification is too large", 413, f"over {limit} bytes")


def unsupported_media() -> Problem:
    return Problem(
        "unsupported-media-type",
        "The notification must be JSON",
        415,
        "send Content-Type: application/json",
    )


def not_json() -> Problem:
    return Problem(
        "malformed-json", "The body is not JSON", 400, "the body is not UTF-8 JSON (RFC 8259)"
    )


def invalid(errors: Sequence[FieldError], what: str) -> Problem:
    count = len({error.path for error in errors})
    noun = "field is" if count == 1 else "fields are"
    return Problem(
        "invalid-notification",
        "The notification does not follow the schema",
        422,
        f"{count} {noun} invalid ({what})",
        errors,
    )


def reused_id() -> Problem:
    return Problem(
        "webhook-id-reused",
        "This webhook-id was used for another payload",
        409,
        "a retry must repeat the original body byte for byte",
    )


def unavailable(reason: str, retry_after_s: int = 30) -> Problem:
    return Problem(
        "temporarily-unavailable",
        "The notification could not be taken now",
        503,
        f"try again later ({reason})",
        headers={"Retry-After": str(retry_after_s)},
    )


def consent_refused(reason: str, detail: str) -> Problem:
    """The gateway's consent rules refused a child's referral: the rule's slug (`reason`,
    e.g. `not_authorised_by_supervisor`) and its one line of ids and categories."""
    return Problem(
        "consent-refused", "The notification may not be shared", 422, detail, reason=reason
    )
