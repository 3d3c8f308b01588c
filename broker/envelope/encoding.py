"""Canonical JSON, strict base64url, strict JSON parsing, content-free validation messages.

The building blocks of every Caselink document (envelope, directory, key files): each
value has exactly one accepted byte form.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, NoReturn

import jiter
from pydantic import BaseModel, ValidationError
from pydantic_core import CoreConfig, SchemaSerializer, SchemaValidator, core_schema


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
_ALPHABET_BYTES = _ALPHABET.encode("ascii")
# Unused low bits of the last character of a 2- or 3-character final group (4 or 2 bits),
# indexed by byte value: non-zero means the bits are set, and the text is not canonical.
_EXCESS_BITS = tuple(
    tuple(
        _ALPHABET_BYTES.index(byte) & mask if byte in _ALPHABET_BYTES else 0 for byte in range(256)
    )
    for mask in (0, 0, 0x0F, 0x03)
)
# pydantic-core decodes base64 about four times faster than binascii.a2b_base64 (which does
# one byte at a time): 1.3 us instead of 5.6 us for a 3 KB ciphertext. It is used only as a
# decoder, on text whose canonical form b64d_quoted has already checked itself, because it
# is lenient (it also takes '+', '/', '=' padding and JSON escapes).
_BASE64_JSON = SchemaValidator(
    core_schema.bytes_schema(), config=CoreConfig(val_json_bytes="base64")
)


# And it encodes straight to the URL-safe alphabet ('"' + padded base64url + '"'), where
# binascii needs b2a_base64, rstrip and two replaces: 2.4 us instead of 2.9 us for 3 KB.
_BASE64_JSON_OUT = SchemaSerializer(
    core_schema.bytes_schema(), config=CoreConfig(ser_json_bytes="base64")
)


def b64e_bytes(data: bytes) -> bytes:
    """b64e as ASCII bytes."""
    if type(data) is not bytes:
        data = bytes(data)  # the serializer takes exact bytes; TypeError for str, like b2a
    quoted: bytes = _BASE64_JSON_OUT.to_json(data)
    # Drop the quotes and the '=' padding (one per missing byte of the last 3-byte group).
    return quoted[1 : len(quoted) - 1 - (-len(data) % 3)]


def b64e(data: bytes) -> str:
    """base64url (RFC 4648 section 5) without padding."""
    return b64e_bytes(data).decode("ascii")


def b64d_quoted(quoted: bytes) -> bytes:
    """b64d of a JSON string literal: `quoted` is '"' + base64url text + '"', as bytes.

    The codec slices envelope texts with their quotes, so they reach the decoder without a
    copy or a str round trip. Same acceptance as b64d (which calls this); ValueError.
    """
    # The decoder refuses every byte outside the standard and URL-safe alphabets (and a
    # quote inside the text ends the JSON string early: refused as trailing data); what it
    # would accept beyond canonical base64url is refused here: the standard alphabet's
    # '+' and '/', '=' padding, and backslash escapes (each test is one memchr, where
    # checking the whole alphabet with translate took 1.2 us for 4 KB).
    # tests/unit/envelope/test_codec.py tries every byte value in every position.
    if (
        len(quoted) < 2  # a lone '"' is no string (the codec can slice one)
        or quoted[0] != 0x22  # '"'
        or quoted[-1] != 0x22
        or b"+" in quoted
        or b"/" in quoted
        or b"=" in quoted
        or b"\\" in quoted
    ):
        raise ValueError("not base64url without padding")
    tail = (len(quoted) - 2) % 4
    if tail == 1:
        raise ValueError("impossible base64 length")
    if _EXCESS_BITS[tail][quoted[-2]]:
        raise ValueError("non-zero unused bits")
    try:
        decoded: bytes = _BASE64_JSON.validate_json(quoted)
    except ValidationError as exc:  # any other character, whitespace, non-ASCII
        raise ValueError("not base64url") from exc
    return decoded


def b64d(text: str) -> bytes:
    """Strict inverse of b64e: only the canonical unpadded form is accepted.

    Refused: '+', '/', '=', whitespace, any other character, a length of 4n+1, and
    non-zero unused bits in the last character (all would let two strings stand for the
    same bytes). Raises ValueError (callers translate it into their own error type).
    """
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not ASCII text")
    return b64d_quoted(b'"' + text.encode("ascii") + b'"')


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


def is_strict_json(raw: bytes) -> bool:
    """True when raw is UTF-8 JSON without duplicate keys or NaN/Infinity.

    jiter checks this in about 4 us for a 2 KB body, where json + the pairs hook take about
    6.5 us; it refuses duplicate keys (also ones spelt with escapes), NaN/Infinity, bad
    UTF-8, control characters in strings and trailing data, like loads_strict. True implies
    that loads_strict(raw, encoding="utf-8") accepts raw with the same value (a test
    checks this); False only means "ask loads_strict", since jiter is stricter in a few
    places (lone surrogate escapes, nesting deeper than 200). The parsed value is thrown
    away. Only object keys go through jiter's process-wide string cache (0.4 us faster
    than none), never values, which in a body are personal data.
    """
    try:
        jiter.from_json(raw, allow_inf_nan=False, cache_mode="keys", catch_duplicate_keys=True)
    except ValueError:
        return False
    return True


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
