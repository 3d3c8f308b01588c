"""Canonical JSON, strict base64url, strict JSON parsing, content-free validation messages.

The building blocks of every Caselink document (envelope, directory, key files): each
value has exactly one accepted byte form.
"""

from __future__ import annotations

import binascii
import json
from typing import Any, NoReturn

import jiter
from pydantic import BaseModel, ValidationError
from pydantic_core import CoreConfig, SchemaSerializer, SchemaValidator, core_schema

from schemas.field_errors import field_errors, schema_field_names


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


_ALPHABET_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Unused low bits of the last character of a 2- or 3-character final group (4 or 2 bits),
# indexed by byte value: non-zero means the bits are set, and the text is not canonical.
_EXCESS_BITS = tuple(
    tuple(
        _ALPHABET_BYTES.index(byte) & mask if byte in _ALPHABET_BYTES else 0 for byte in range(256)
    )
    for mask in (0, 0, 0x0F, 0x03)
)

# pydantic-core (Rust) decodes base64 about four times faster than binascii.a2b_base64,
# which does one byte at a time (1.3 us instead of 5.6 us for a 3 KB ciphertext), and
# encodes straight to the URL-safe alphabet where binascii needs b2a_base64, rstrip and two
# replaces (2.4 us instead of 2.9 us). Its decoder is lenient in a known way: besides the
# base64url alphabet it takes the standard alphabet's '+' and '/', '=' padding and (being
# a JSON parser) backslash escapes, and it refuses every other byte. So it only ever
# decodes text that b64d_quoted has checked for those (tests/unit/envelope/
# test_fast_paths.py tries every byte value in every position against a reference).
_BASE64_JSON = SchemaValidator(
    core_schema.bytes_schema(), config=CoreConfig(val_json_bytes="base64")
)
_BASE64_JSON_OUT = SchemaSerializer(
    core_schema.bytes_schema(), config=CoreConfig(ser_json_bytes="base64")
)


def _pydantic_base64_as_expected() -> bool:
    # Older pydantic-core releases (pydantic >= 2.7 is allowed) ignore val_json_bytes or
    # encode with the standard alphabet: then the binascii code below is used instead.
    sample = bytes(range(256)) + b"\xfb\xff"
    text = binascii.b2a_base64(sample, newline=False).replace(b"+", b"-").replace(b"/", b"_")
    try:
        if _BASE64_JSON_OUT.to_json(sample) != b'"' + text + b'"':
            return False
        if _BASE64_JSON.validate_json(b'"' + text.rstrip(b"=") + b'"') != sample:
            return False
    except (ValidationError, ValueError, TypeError):
        return False
    for odd in (b" ", b"\t", b".", b"*", b"~", b"\x7f", b"\xc3\xa9"):
        try:
            _BASE64_JSON.validate_json(b'"QU' + odd + b'JD"')
        except ValidationError:
            continue
        return False
    return True


_PYDANTIC_BASE64 = _pydantic_base64_as_expected()


def b64e_bytes(data: bytes | bytearray | memoryview) -> bytes:
    """b64e as ASCII bytes."""
    if not _PYDANTIC_BASE64:
        encoded = binascii.b2a_base64(data, newline=False).rstrip(b"=")
        return encoded.replace(b"+", b"-").replace(b"/", b"_")
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

    Same acceptance as b64d (which calls this); the codec slices envelope texts with their
    quotes, so they reach the decoder without a str round trip. Raises ValueError.
    """
    # What the decoder would accept beyond canonical base64url is refused first: the
    # standard alphabet's '+' and '/', '=' padding and backslash escapes (one memchr each;
    # checking the whole alphabet with bytes.translate took 1.2 us for 4 KB). A quote
    # inside ends the JSON string early, which the decoder refuses as trailing data.
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
    # The last character of a 2- or 3-character group carries 4 or 2 unused bits.
    if tail and _EXCESS_BITS[tail][quoted[-2]]:
        raise ValueError("non-zero unused bits")
    if not _PYDANTIC_BASE64:
        standard = quoted[1:-1].replace(b"-", b"+").replace(b"_", b"/") + b"=" * (-tail % 4)
        try:
            # strict_mode refuses every character outside the alphabet (whitespace too).
            return binascii.a2b_base64(standard, strict_mode=True)
        except binascii.Error as exc:
            raise ValueError("not base64url") from exc
    try:
        decoded: bytes = _BASE64_JSON.validate_json(quoted)
    except ValidationError as exc:  # any other character, whitespace, non-ASCII, a quote
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


def loads_body(raw: bytes) -> Any:
    """loads_strict(raw, encoding="utf-8"), faster: the same value, or the same error.

    jiter parses, refusing duplicate keys (also ones spelt with escapes), NaN/Infinity, bad
    UTF-8, control characters in strings and trailing data, like loads_strict: 4 us for a
    2 KB body where json + the pairs hook take 6.5 us. Wherever jiter refuses, loads_strict
    decides, so every error is the strict path's own, and input on which jiter is stricter
    than json (lone surrogate escapes, nesting deeper than 200) is still read as before.
    Object keys (the schema's field names, in a valid body) go through jiter's string cache,
    which saves allocations; values, the personal data, never do.
    Raises JsonDuplicateKeyError or JsonRejectedError (both ValueError).
    """
    try:
        return jiter.from_json(
            raw, allow_inf_nan=False, cache_mode="keys", catch_duplicate_keys=True
        )
    except ValueError:
        return loads_strict(raw, encoding="utf-8")


def error_locations(exc: ValidationError, model: type[BaseModel], limit: int = 5) -> str:
    """Field locations and error types of a ValidationError, never the input values.

    An unknown field is named by its position (`subject.<extra field #1>`), and location
    parts that are not field names of the model's schema (dict keys, union tags chosen by
    the sender) are shown as '*', since a sender could put personal data there.
    """
    errors = exc.errors(include_url=False, include_input=False)
    safe = field_errors(errors, known=schema_field_names(model))[:limit]
    shown = [f"{'.'.join(map(str, e.loc)) or '<root>'}:{e.type}" for e in safe]
    extra = exc.error_count() - len(shown)
    return ", ".join(shown) + (f" (+{extra} more)" if extra > 0 else "")
