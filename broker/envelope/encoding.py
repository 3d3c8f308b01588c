"""Canonical JSON, strict base64url, strict JSON parsing, content-free validation messages.

The building blocks of every Caselink document (envelope, directory, key files): each
value has exactly one accepted byte form.
"""

from __future__ import annotations

import binascii
import json
from functools import cache
from typing import Any, NoReturn

from pydantic import BaseModel, ValidationError


class JsonDuplicateKeyError(ValueError):
    """A JSON object repeated a key."""


class JsonRejectedError(ValueError):
    """Not acceptable JSON: bad encoding, syntax, NaN/Infinity, or nesting too deep."""


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
)


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, ASCII only (\\uXXXX escapes), no NaN: one form per value.

    Same bytes as json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).
    """
    return _CANONICAL.encode(obj).encode("ascii")


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SEXTET = {char: value for value, char in enumerate(_ALPHABET)}


def b64e_bytes(data: bytes) -> bytes:
    # bytes.replace is about twice as fast as bytes.translate here.
    encoded = binascii.b2a_base64(data, newline=False).rstrip(b"=")
    return encoded.replace(b"+", b"-").replace(b"/", b"_")


def b64e(data: bytes) -> str:
    """base64url (RFC 4648 section 5) without padding."""
    return b64e_bytes(data).decode("ascii")


def b64d(text: str) -> bytes:
    """Strict inverse of b64e: only the canonical unpadded form is accepted.

    Refused: '+', '/', '=', whitespace, any other character, a length of 4n+1, and
    non-zero unused bits in the last character (all would let two strings stand for the
    same bytes). Raises ValueError (callers translate it into their own error type).
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not ASCII text")
    if "+" in text or "/" in text or "=" in text:
        raise ValueError("not base64url without padding")
    tail = len(text) % 4
    if tail == 1:
        raise ValueError("impossible base64 length")
    # The last character of a 2- or 3-character group carries 4 or 2 unused bits.
    if tail and _SEXTET.get(text[-1], 0) & (0x0F if tail == 2 else 0x03):
        raise ValueError("non-zero unused bits")
    padded = text.encode("ascii").replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-tail % 4)
    try:
        # strict_mode refuses every character outside the alphabet (whitespace included).
        return binascii.a2b_base64(padded, strict_mode=True)
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise JsonDuplicateKeyError("duplicate key")
    return obj


def _no_constant(name: str) -> NoReturn:
    raise JsonRejectedError("NaN and Infinity are not JSON")


# Built once: json.loads with a hook would construct a new decoder on every call.
_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)


def loads_strict(raw: bytes, *, encoding: str = "ascii") -> Any:
    """json.loads that refuses duplicate keys, NaN/Infinity, other encodings and deep nesting.

    Raises JsonDuplicateKeyError or JsonRejectedError (both ValueError).
    """
    try:
        return _DECODER.decode(raw.decode(encoding))
    except JsonDuplicateKeyError:
        raise
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError, UnicodeDecodeError and the int-digits limit are all ValueErrors.
        raise JsonRejectedError("not acceptable JSON") from exc


@cache
def _schema_names(model: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(k for k in props if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(model.model_json_schema())
    except Exception:  # a model without a JSON schema just gets opaque locations
        return frozenset()
    return frozenset(names)


def error_locations(exc: ValidationError, model: type[BaseModel], limit: int = 5) -> str:
    """Field locations and error types of a ValidationError, never the input values.

    Location parts that are not field names of the model's schema (dict keys, union tags
    chosen by the sender) are shown as '*', since a sender could put personal data there.
    """
    known = _schema_names(model)
    shown = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False)[:limit]:
        loc = ".".join(
            str(part) if isinstance(part, int) or part in known else "*" for part in err["loc"]
        )
        shown.append(f"{loc or '<root>'}:{err['type']}")
    extra = exc.error_count() - len(shown)
    return ", ".join(shown) + (f" (+{extra} more)" if extra > 0 else "")
