"""HTML forms on both web apps: reading a posted form within a size cap, refusing forms
posted from other sites, and keeping a redirect after sign-in on this site.

Forms are parsed by hand: FastAPI's Form() needs python-multipart for a few short fields.
Starlette's Request is the ASGI receive channel read chunk by chunk, so a form over its cap
is refused before more of it is read (the app's BodyLimit caps every body besides).
"""

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096
"""A sign-in form's cap; a form that carries more (a referral's narrative) names its own."""
MAX_FORM_FIELDS = 8


async def read_form_fields(
    request: Request, *, max_bytes: int = MAX_FORM_BYTES, max_fields: int = MAX_FORM_FIELDS
) -> dict[str, list[str]] | None:
    """Every field of a url-encoded form with all its values (a group of checkboxes repeats
    its name); None when it is not such a form, longer than `max_bytes`, has more than
    `max_fields` values or is not UTF-8."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            return None
    try:
        return parse_qs(
            body.decode(), keep_blank_values=True, strict_parsing=False, max_num_fields=max_fields
        )
    except (UnicodeDecodeError, ValueError):
        return None


async def read_form(
    request: Request, *, max_bytes: int = MAX_FORM_BYTES, max_fields: int = MAX_FORM_FIELDS
) -> dict[str, str] | None:
    """The single-valued fields of a url-encoded form (a field sent twice is dropped, not
    guessed at); None as `read_form_fields` says."""
    fields = await read_form_fields(request, max_bytes=max_bytes, max_fields=max_fields)
    if fields is None:
        return None
    return {key: values[0] for key, values in fields.items() if len(values) == 1}


def safe_next(target: str, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default`: where to go after sign-in.

    Browsers read "//evil.example", "/\\evil.example" and "/<tab>/evil.example" (they drop
    tabs and newlines) as another host.
    """
    parts = urlsplit(target)
    odd = any(char < " " or char == "\\" for char in target)
    if odd or parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] == "/":
        return default
    return target


def same_origin(request: Request) -> bool:
    """Whether a form post comes from a page of this site (`same_origin_headers`)."""
    return same_origin_headers(request.headers)


def same_origin_headers(headers: Mapping[str, str]) -> bool:
    """Whether a request with these headers (lower-case names) comes from a page of this
    site; what the middleware asks before any body is read.

    SameSite=Strict guards the session cookie; this also refuses forms posted from other
    sites, sibling subdomains included (a sign-in form among them). Browsers send
    Sec-Fetch-Site (JavaScript cannot forge it); older ones only Origin. Neither comes from
    non-browser clients, which no cross-site form can drive.
    """
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is None or urlsplit(origin).netloc == headers.get("host")
