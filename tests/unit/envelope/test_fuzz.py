"""Arbitrary and mutated input: only EnvelopeError subclasses ever come out."""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.envelope import EnvelopeError, open_envelope, verify_header
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
