"""The published decrypt-only vectors (tests/vectors/envelope_vectors.json) still hold."""

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.kinds import MessageKind, Suite
from tests.vectors.check import Context, check_case, load_context

VECTORS = Path(__file__).parents[2] / "vectors" / "envelope_vectors.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="ascii"))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def context(document: dict[str, Any]) -> Context:
    return load_context(document)


def _cases() -> list[dict[str, Any]]:
    return json.loads(VECTORS.read_text(encoding="ascii"))["cases"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("case", _cases(), ids=lambda case: case["name"])
def test_vector(context: Context, case: dict[str, Any]) -> None:
    check_case(context, case)


def test_vectors_cover_every_kind_suite_and_refusal(document: dict[str, Any]) -> None:
    cases = document["cases"]
    opened = {case["name"] for case in cases if case["expect"] == "open"}
    assert opened == {f"{kind.value}-{suite.value}" for kind in MessageKind for suite in Suite}
    reasons = {case["reason"] for case in cases if case["expect"] == "error"}
    assert reasons >= {
        "bad_signature",
        "decryption_failed",
        "not_for_recipient",
        "key_revoked",
        "message_expired",
        "issued_in_future",
        "malformed_envelope",
        "duplicate_key",
        "non_canonical_encoding",
        "unsupported_version",
        "unsupported_suite",
        "unknown_sender",
        "unknown_key",
        "key_expired",
        "outside_validity_window",
        "commitment_mismatch",
        "body_schema_error",
        "header_body_mismatch",
    }


def test_vector_keys_are_marked_as_test_keys(document: dict[str, Any]) -> None:
    assert "TEST KEYS ONLY" in document["warning"]


def test_vectors_cover_the_cases_the_spec_decides(document: dict[str, Any]) -> None:
    # docs/envelope.md, "Cases an implementation must decide": one vector each, with its reason.
    reasons = {case["name"]: case.get("reason") for case in document["cases"]}
    assert {
        "unknown-body-field": "body_schema_error",
        "version-as-string": "unsupported_version",
        "version-missing": "unsupported_version",
        "null-optional-header-field": "non_canonical_encoding",
        "null-required-header-field": "malformed_envelope",
    }.items() <= reasons.items()
