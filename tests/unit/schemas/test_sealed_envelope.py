"""The SealedEnvelope model describes what really travels: every genuine vector fits it."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from broker.envelope.suites import MAX_ENVELOPE_BYTES as CODEC_LIMIT
from schemas.sealed_envelope import MAX_ENVELOPE_BYTES, SealedEnvelope

VECTORS = Path(__file__).parents[2] / "vectors" / "envelope_vectors.json"


def _genuine() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]
    return [case for case in cases if case["expect"] == "open"]


@pytest.mark.parametrize("case", _genuine(), ids=lambda case: case["name"])
def test_every_genuine_envelope_fits_the_model(case: dict[str, Any]) -> None:
    envelope = SealedEnvelope.model_validate_json(case["envelope"])
    assert envelope.header.recipient == case["recipient"]


def _envelope(**change: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_genuine()[0]["envelope"])
    return document | change


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "A" * 85 + "B"},  # non-zero unused bits: not the one text form
        {"signature": "A" * 86 + "=="},  # padded
        {"signature": "A" * 84 + "w"},  # 63 bytes
        {"ciphertext": "abc+/"},  # base64, not base64url
        {"ciphertext": ""},
        {"extra": 1},
    ],
)
def test_a_misshapen_envelope_does_not_fit(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SealedEnvelope.model_validate(_envelope(**change))


def test_the_codec_enforces_the_limit_the_contract_states() -> None:
    assert CODEC_LIMIT == MAX_ENVELOPE_BYTES
