"""Arbitrary and mutated input: only EnvelopeError subclasses ever come out."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.envelope import EnvelopeError, MalformedEnvelope, open_envelope, verify_header
from broker.envelope.codec import (
    DecodedEnvelope,
    _check,
    _decode_canonical,
    _parse,
    decode_envelope,
)
from broker.envelope.encoding import canonical_json
from schemas.kinds import Suite
from tests.unit.envelope.federation import NOW, Federation, make_federation
from tests.unit.envelope.helpers import referral_envelope, split

FED = make_federation()  # hypothesis re-runs tests: a module-level federation is cheaper
GENUINE = {suite: referral_envelope(FED, suite=suite) for suite in Suite}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_envelope_errors(raw: bytes, fed: Federation = FED) -> None:
    refusals: list[EnvelopeError] = []
    for check in (
        lambda: open_envelope(raw, keys=fed.health, directory=fed.directory, now=NOW),
        lambda: verify_header(raw, directory=fed.directory, now=NOW),
    ):
        try:
            check()
        except EnvelopeError as err:  # anything else fails the test by propagating
            refusals.append(err)
    for err in refusals:
        assert err.reason
        assert "\n" not in str(err)
        assert err.evidence is not None


@FUZZ
@given(st.binary(max_size=4000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _only_envelope_errors(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@FUZZ
@given(st.data())
def test_mutated_envelopes(data: st.DataObject) -> None:
    raw = bytearray(GENUINE[data.draw(st.sampled_from(list(Suite)))])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["replace", "insert", "delete", "cut"]))
        chunk = data.draw(st.binary(min_size=1, max_size=8))
        if action == "replace":
            raw[position : position + len(chunk)] = chunk
        elif action == "insert":
            raw[position:position] = chunk
        elif action == "delete":
            del raw[position : position + len(chunk)]
        else:
            del raw[position:]
    _only_envelope_errors(bytes(raw))


@FUZZ
@given(st.data())
def test_structured_header_mutations(data: st.DataObject) -> None:
    # Canonically encoded, so these reach the checks behind the JSON parser.
    header, ciphertext, signature = split(GENUINE[data.draw(st.sampled_from(list(Suite)))])
    header = dict(header)
    fields = [*sorted(header), "extra", "v"]
    for _ in range(data.draw(st.integers(1, 3))):
        field = data.draw(st.sampled_from(fields))
        if data.draw(st.booleans()):
            header[field] = data.draw(json_values)
        else:
            header.pop(field, None)
    doc: dict[str, Any] = {
        "ciphertext": data.draw(st.sampled_from([json.loads(GENUINE[Suite.X25519])["ciphertext"]]))
        if data.draw(st.booleans())
        else json.loads(canonical_json({"c": ciphertext.hex()}))["c"],
        "header": header,
        "signature": signature.hex() if data.draw(st.booleans()) else "A" * 86,
    }
    try:
        raw = canonical_json(doc)
    except ValueError:  # floats such as inf have no JSON form
        return
    _only_envelope_errors(raw)


@FUZZ
@given(st.data())
def test_structured_document_mutations(data: st.DataObject) -> None:
    doc = json.loads(GENUINE[Suite.X25519])
    key = data.draw(st.sampled_from(["ciphertext", "header", "signature", "other"]))
    doc[key] = data.draw(json_values)
    try:
        raw = canonical_json(doc)
    except ValueError:
        return
    _only_envelope_errors(raw)


def _strict(raw: bytes) -> DecodedEnvelope | None:
    try:
        return _check(_parse(raw), raw)
    except EnvelopeError:
        return None


@FUZZ
@given(st.data())
def test_fast_decoder_never_accepts_what_the_strict_one_refuses(data: st.DataObject) -> None:
    raw = bytearray(GENUINE[data.draw(st.sampled_from(list(Suite)))])
    for _ in range(data.draw(st.integers(0, 2))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position : position + 1] = data.draw(st.binary(min_size=0, max_size=3))
    fast = _decode_canonical(bytes(raw))
    if fast is not None:
        assert _strict(bytes(raw)) == fast


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda raw: raw.replace(b'"header":{', b'"header":{"v":1,', 1),  # duplicate key
        lambda raw: raw.replace(b'"v":1}', b'"v":1.0}'),
        lambda raw: raw.replace(b'"v":1}', b'"v" : 1}'),
        lambda raw: raw.replace(b"police-north", b"police\\u002dnorth"),
        lambda raw: raw.replace(b'"issued_at":1750000000', b'"issued_at":"1750000000"'),
    ],
)
def test_fast_decoder_declines_non_canonical_headers(rewrite: object) -> None:
    changed = rewrite(GENUINE[Suite.X25519])  # type: ignore[operator]
    assert changed != GENUINE[Suite.X25519]
    assert _decode_canonical(changed) is None
    with pytest.raises(MalformedEnvelope):
        decode_envelope(changed)
