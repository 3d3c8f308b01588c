"""The performance shortcuts in broker.envelope accept and produce exactly what the plain,
strict implementations they replace do (see bench/envelope.py for why they exist).

Each test compares a fast path with a reference written the slow, obvious way: base64url
via the base64 module, body parsing via json + model_validate, message ids via uuid.
"""

import base64
import copy
import hashlib
import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from broker.envelope import (
    MalformedEnvelope,
    canonical_json,
    decode_envelope,
    encoding,
    header_bytes,
)
from broker.envelope.binding import COMMIT_LABEL, commitment
from broker.envelope.encoding import (
    JsonDuplicateKeyError,
    JsonRejectedError,
    b64d,
    b64d_quoted,
    b64e_bytes,
    error_locations,
    loads_body,
    loads_strict,
)
from broker.envelope.errors import BodySchemaError
from broker.envelope.header_json import validated_header_bytes
from broker.envelope.open import parse_body
from broker.envelope.suites import pad, unpad, unpadded_length
from schemas.bodies import BODY_MODELS, body_model
from schemas.examples import example_body
from schemas.header import EnvelopeHeader
from schemas.ids import AGENCY_ID_PATTERN, KEY_ID_PATTERN, UUID4_PATTERN
from schemas.kinds import MessageKind, Suite
from tests.strategies import any_kind_and_body
from tests.unit.envelope.federation import Federation
from tests.unit.envelope.helpers import referral_envelope
from tests.unit.envelope.test_codec import headers

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


# --- base64url: pydantic-core decodes and encodes, our own checks keep it canonical ------


def _reference_b64d(text: bytes) -> bytes | None:
    """The bytes of canonical unpadded base64url text, None for any other text."""
    if any(c not in ALPHABET for c in text) or len(text) % 4 == 1:
        return None
    data = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    return data if base64.urlsafe_b64encode(data).rstrip(b"=") == text else None


def _fast_b64d(quoted: bytes) -> bytes | None:
    try:
        return b64d_quoted(quoted)
    except ValueError:
        return None


def _variants(base: bytes) -> Iterator[bytes]:
    """base with every byte value put in (and inserted at) every position."""
    for position in range(len(base) + 1):
        for value in range(256):
            byte = bytes([value])
            yield base[:position] + byte + base[position + 1 :]
            yield base[:position] + byte + base[position:]


@pytest.fixture(params=[True, False], ids=["pydantic", "binascii"])
def base64_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both base64 implementations: pydantic-core's, and binascii (for old pydantic)."""
    if request.param and not encoding._PYDANTIC_BASE64:
        pytest.skip("the installed pydantic-core does not encode base64 as expected")
    monkeypatch.setattr(encoding, "_PYDANTIC_BASE64", request.param)


def test_pydantic_base64_is_in_use() -> None:
    assert encoding._PYDANTIC_BASE64  # the pinned versions take the fast path


@pytest.mark.usefixtures("base64_backend")
@pytest.mark.parametrize("base", [b"", b"QQ", b"QUI", b"QUJD", b"QUJDRA"])
def test_b64d_quoted_every_byte_in_every_position(base: bytes) -> None:
    for text in _variants(base):
        assert _fast_b64d(b'"' + text + b'"') == _reference_b64d(text), text
        if text.isascii():
            try:
                assert b64d(text.decode("ascii")) == _reference_b64d(text), text
            except ValueError:
                assert _reference_b64d(text) is None, text


@pytest.mark.usefixtures("base64_backend")
@pytest.mark.parametrize(
    "quoted",
    [
        b'"QU\\u004aD"',  # a JSON escape of a valid character
        b'"QU\\/D"',  # an escaped '/', which JSON reads as '/'
        b'"QUJD\\n"',
        b'"QU"JD"',  # a quote inside: not one JSON string
        b'"QUJD',
        b'QUJD"',
        b"QUJD",
        b'"',  # the codec can slice a lone quote out of '...,"signature":"}'
        b"",
        b'"QUJD" ',
        b' "QUJD"',
        b'"Q\xc3\xa9JD"',
        b'"QUJD=="',
        b'"QQ=="',
        b'"a+b/"',
    ],
)
def test_b64d_quoted_refuses(quoted: bytes) -> None:
    with pytest.raises(ValueError, match=r"base64|bits"):
        b64d_quoted(quoted)


@pytest.mark.parametrize("fast", [True, False])
@given(data=st.binary(max_size=600))
def test_b64_fast_paths_round_trip(fast: bool, data: bytes) -> None:
    with pytest.MonkeyPatch.context() as patch:  # hypothesis runs outside fixtures
        patch.setattr(encoding, "_PYDANTIC_BASE64", fast and encoding._PYDANTIC_BASE64)
        text = b64e_bytes(data)
        assert text == base64.urlsafe_b64encode(data).rstrip(b"=")
        assert b64e_bytes(bytearray(data)) == text
        assert b64e_bytes(memoryview(data)) == text
        assert b64d_quoted(b'"' + text + b'"') == data


@pytest.mark.usefixtures("base64_backend")
def test_b64e_refuses_text() -> None:
    with pytest.raises(TypeError):
        b64e_bytes("QUJD")  # type: ignore[arg-type]


def test_decoder_survives_a_signature_quote_shared_with_the_suffix() -> None:
    raw = b'{"ciphertext":"AAAA","header":{},"signature":"}'
    with pytest.raises(MalformedEnvelope):
        decode_envelope(raw)


# --- body JSON: jiter gives json's value or json's error -----------------------------------


def _same_json(a: Any, b: Any) -> bool:
    """Equal values of equal types, all the way down (1 == 1.0 == True is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)


JSON_EDGE_CASES = [
    b'{"a":1}',
    b' {"a" : [1, 2.5, -0, -0.0, 1e400, 1e-400, 1E+2, true, false, null]}\r\n\t',
    b'{"a":1,"a":2}',
    b'{"a":1,"\\u0061":2}',
    b'{"x":[{"a":1},{"b":{"c":1,"c":1}}]}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":"\\ud800"}',  # lone surrogate: json takes it, jiter does not
    b'{"a":"\\ud83d\\ude00"}',
    b'{"a":"\xf0\x9f\x98\x80"}',
    b'{"a":"\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
    b'{"a":"\xff"}',
    b'{"a":"\xc0\x80"}',  # overlong NUL
    b'\xef\xbb\xbf{"a":1}',
    b'{"a":"\x01"}',
    b'{"a":"\x7f"}',
    b'{"a":"\\u0000\\/\\b\\f\\n\\r\\t\\"\\\\"}',
    b'{"a":"\\x"}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":+1}',
    b'{"a":1}x',
    b'{"a":1}\x00',
    b'{"a":1} {"b":2}',
    b'{"a":[1,]}',
    b'{"a":1,}',
    b"{'a':1}",
    b'{"a":' + b"9" * 5000 + b"}",
    b'{"a":123456789012345678901234567890}',
    b"[" * 150 + b"]" * 150,
    b"[" * 250 + b"]" * 250,  # deeper than jiter goes: json decides
    b"[" * 5000 + b"]" * 5000,
    b"",
    b" ",
    b'"x"',
    b"null",
]


def _json_outcome(loads: Any, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", loads(raw)
    except JsonDuplicateKeyError:
        return "duplicate", None
    except JsonRejectedError:
        return "rejected", None


def _check_loads_body(raw: bytes) -> None:
    fast = _json_outcome(loads_body, raw)
    strict = _json_outcome(lambda raw: loads_strict(raw, encoding="utf-8"), raw)
    assert fast[0] == strict[0], raw
    assert _same_json(fast[1], strict[1]), raw


@pytest.mark.parametrize("raw", JSON_EDGE_CASES)
def test_loads_body_edge_cases(raw: bytes) -> None:
    _check_loads_body(raw)


def test_loads_body_refuses_what_the_format_refuses() -> None:
    for raw in (b'{"a":1,"a":2}', b'{"a":1,"\\u0061":2}', b'{"x":[{"b":1,"b":2}]}'):
        with pytest.raises(JsonDuplicateKeyError):
            loads_body(raw)
    for raw in (b'{"a":NaN}', b'{"a":-Infinity}', b'{"a":"\xff"}', b'{"a":1}x', b"\xef\xbb\xbf{}"):
        with pytest.raises(JsonRejectedError):
            loads_body(raw)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@SLOW
@given(json_values, st.booleans(), st.data())
def test_loads_body_agrees_with_json(value: Any, ascii_only: bool, data: st.DataObject) -> None:
    raw = bytearray(json.dumps(value, ensure_ascii=ascii_only).encode("utf-8"))
    _check_loads_body(bytes(raw))
    for _ in range(data.draw(st.integers(1, 3))):  # then damage it
        position = data.draw(st.integers(0, len(raw)))
        raw[position : position + data.draw(st.integers(0, 2))] = data.draw(
            st.sampled_from([b'"', b",", b":", b"\\", b"\xff", b"\xc3", b"NaN", b" ", b""])
            | st.binary(max_size=2)
        )
        _check_loads_body(bytes(raw))


# --- body parsing end to end: errors and models exactly as with json + model_validate ------


def _strict_parse_body(kind: MessageKind, body_json: bytes) -> BaseModel:
    """parse_body as it was before the fast path (json + model_validate)."""
    try:
        obj = loads_strict(body_json, encoding="utf-8")
    except JsonDuplicateKeyError:
        raise BodySchemaError("body repeats a JSON key") from None
    except ValueError:
        raise BodySchemaError("body is not UTF-8 JSON") from None
    model = body_model(kind)
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise BodySchemaError(f"body invalid at {error_locations(exc, model)}") from None


def _outcome(parse: Any, kind: MessageKind, raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", parse(kind, raw)
    except BodySchemaError as err:
        return "error", str(err)


def _assert_same(kind: MessageKind, raw: bytes) -> str:
    fast = _outcome(parse_body, kind, raw)
    assert fast == _outcome(_strict_parse_body, kind, raw), raw
    return fast[0]


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*path, index))


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    changed = copy.deepcopy(value)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return changed


# Values that pydantic's lax mode converts, or nearly converts, for some field type.
TRICKY = [
    None,
    True,
    False,
    0,
    1,
    -1,
    3,
    25,
    26,
    2**63,
    10**30,
    1.0,
    0.0,
    -0.0,
    3.0,
    2.5,
    1e20,
    "",
    " ",
    "x ",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "1",
    "0",
    "1.0",
    "3",
    "t",
    "f",
    "2015-06-01",
    "2015-06-01T00:00:00",
    "2015-06-01T00:00:00Z",
    "2015-02-30",
    "20150601",
    "1899-12-31",
    "1434326400",
    1434326400,
    1434326400.0,
    "high",
    "HIGH",
    "neglect",
    "referral",
    "QUJD",
    "QUJD=",
    "QQ==",
    "é",
    "\ud83d\ude00",
    "\x00",
    "a\nb",
    "00000000-0000-4000-8000-000000000001",
    "text/plain",
    "GB",
    "gb",
    "en",
    "+44 1",
    "a@b",
    [],
    {},
    [1],
    ["neglect"],
    {"a": 1},
]


@pytest.mark.parametrize("kind", list(BODY_MODELS))
def test_parse_body_every_field_every_tricky_value(kind: MessageKind) -> None:
    body = json.loads(example_body(kind).model_dump_json())
    outcomes = set()
    for path in _leaf_paths(body):
        for value in TRICKY:
            raw = json.dumps(_replace(body, path, value)).encode("utf-8")
            outcomes.add(_assert_same(kind, raw))
    assert outcomes == {"ok", "error"}


BODY_TEXT_REWRITES = [
    lambda raw: raw,
    lambda raw: raw.replace(b'":', b'" : ').replace(b",", b" ,\n"),
    lambda raw: raw.replace(b"Test", b"T\\u0065st"),
    lambda raw: raw.replace(b"Test", b"Te\\ud800st"),
    lambda raw: raw.replace(b"Test", b"T\xc3\xa9st"),
    lambda raw: raw.replace(b"Test", b"T\xffst"),
    lambda raw: raw.replace(b"Test", b"Te\\u0000st"),
    lambda raw: raw.replace(b"Test", b"Te\x01st"),
    lambda raw: raw.replace(b'{"', b'{"x":1,"x":2,"', 1),
    lambda raw: raw.replace(b'{"', b'{"x":NaN,"', 1),
    lambda raw: raw[:-1] + b',"' + raw[2:].split(b'"', 1)[0] + b'":null}',  # repeat a key
    lambda raw: b"\xef\xbb\xbf" + raw,
    lambda raw: raw + b" x",
    lambda raw: raw[:-1],
    lambda raw: b"[" + raw + b"]",
]


@pytest.mark.parametrize("kind", list(BODY_MODELS))
@pytest.mark.parametrize("rewrite", BODY_TEXT_REWRITES)
def test_parse_body_json_level_rewrites(kind: MessageKind, rewrite: Any) -> None:
    _assert_same(kind, rewrite(example_body(kind).model_dump_json().encode("utf-8")))


@SLOW
@given(any_kind_and_body(), st.data())
def test_parse_body_mutated_bodies(kind_body: tuple[MessageKind, BaseModel], data: Any) -> None:
    kind, body = kind_body
    value = json.loads(body.model_dump_json())
    assert _assert_same(kind, json.dumps(value).encode("utf-8")) == "ok"
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(_leaf_paths(value))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        value = _replace(value, path, data.draw(st.sampled_from(TRICKY) | json_values))
    text = json.dumps(value, ensure_ascii=data.draw(st.booleans()))
    _assert_same(kind, text.encode("utf-8", "surrogatepass"))  # lone surrogates: bad UTF-8


# --- sealing shortcuts ---------------------------------------------------------------------


@given(st.binary(max_size=40), st.binary(max_size=3000))
def test_pad_in_two_parts(salt: bytes, body: bytes) -> None:
    padded = pad(salt, body)
    assert padded == pad(salt + body)
    assert unpadded_length(padded) == len(salt) + len(body)
    assert unpad(padded) == salt + body


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=3000))
def test_commitment_is_the_labelled_hash(salt: bytes, body: bytes) -> None:
    expected = hashlib.sha256(COMMIT_LABEL + salt + body).hexdigest()
    assert commitment(salt, body) == expected
    assert commitment(salt, body) == expected  # the shared label state is not consumed


@SLOW
@given(any_kind_and_body())
def test_seal_body_bytes_are_model_dump_json(kind_body: tuple[MessageKind, BaseModel]) -> None:
    _, body = kind_body
    assert body.__pydantic_serializer__.to_json(body) == body.model_dump_json().encode("utf-8")


def test_example_body_bytes_are_model_dump_json() -> None:
    for kind in BODY_MODELS:
        body = example_body(kind)
        assert body.__pydantic_serializer__.to_json(body) == body.model_dump_json().encode()


# --- the header encoder's escaping check sends odd values down the general path ------------


@pytest.mark.parametrize(
    "update",
    [
        {"sender": 'a"b'},
        {"sender": "a\\b"},
        {"sender": "a\x7fb"},
        {"sender": "a\x01b"},
        {"sender": "a\tb"},
        {"sender": "aéb"},
        {"sender": "a\u2028b"},
        {"sender": "a\ud800b"},
        {"commitment": ""},
        {"issued_at": True},
        {"v": True},
        {"respond_by": 1.0},
        {"respond_by": 5, "status": "accepted"},
        {"sender": 5},
    ],
)
def test_header_bytes_general_path(fed: Federation, update: dict[str, Any]) -> None:
    header = decode_envelope(referral_envelope(fed, suite=Suite.X25519)).header
    odd = header.model_copy(update=update)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic warns about the wrongly typed values
        try:
            expected = canonical_json(odd.model_dump(mode="json", exclude_none=True))
        except (UnicodeEncodeError, ValueError):
            expected = None
        try:
            encoded = header_bytes(odd)
        except (UnicodeEncodeError, ValueError):
            encoded = None
    assert encoded == expected


def test_header_bytes_of_real_headers(fed: Federation) -> None:
    for suite in Suite:
        raw = referral_envelope(fed, suite=suite)
        decoded = decode_envelope(raw)
        assert header_bytes(decoded.header) == decoded.header_json
        assert decoded.header_json in raw


# --- validated_header_bytes: header_bytes without the checks a validated header passes ----


@settings(max_examples=200)
@given(headers)
def test_validated_header_bytes_equals_header_bytes(header: EnvelopeHeader) -> None:
    assert validated_header_bytes(header) == header_bytes(header)


def test_validated_header_strings_never_need_escaping() -> None:
    """The schema property validated_header_bytes relies on: a tripwire for schema edits."""
    schema = EnvelopeHeader.model_json_schema()
    definitions = schema.get("$defs", {})
    safe_patterns = {UUID4_PATTERN, AGENCY_ID_PATTERN, KEY_ID_PATTERN, r"^[0-9a-f]{64}$"}

    def leaves(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if "$ref" in node:
            yield from leaves(definitions[node["$ref"].rsplit("/", 1)[-1]])
        elif "anyOf" in node:
            for option in node["anyOf"]:
                yield from leaves(option)
        else:
            yield node

    for name, prop in schema["properties"].items():
        for leaf in leaves(prop):
            if "enum" in leaf or "const" in leaf:
                for value in leaf.get("enum", [leaf.get("const")]):
                    assert isinstance(value, int) or re.fullmatch(r"[a-z0-9_-]+", value), name
            elif leaf.get("type") == "string":
                assert leaf.get("pattern") in safe_patterns, name
            else:
                assert leaf.get("type") in ("integer", "null"), name


def test_validated_header_bytes_falls_back_for_odd_values(fed: Federation) -> None:
    header = decode_envelope(referral_envelope(fed, suite=Suite.X25519)).header
    for update in ({"sender": "aéb"}, {"sender": 5}, {"sender": 'a"b'}):
        odd = header.model_copy(update=update)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = header_bytes(odd)
            except (UnicodeEncodeError, ValueError):
                continue
            if update["sender"] == 'a"b':
                # Unescaped: only ever used where a wrong text fails a comparison.
                assert validated_header_bytes(odd) != expected
            else:
                assert validated_header_bytes(odd) == expected
