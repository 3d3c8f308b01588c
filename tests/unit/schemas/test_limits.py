"""Unknown fields, oversize texts, lists and attachments, and malformed values are refused."""

import base64
from typing import Any

import pytest

from schemas.common import ATTACHMENT_MAX_BYTES, NAME_MAX, NARRATIVE_MAX, TEXT_MAX
from schemas.kinds import MessageKind
from tests.unit.schemas.payloads import accepts, payload, rejects

REFERRAL = MessageKind.REFERRAL


def _attachment(data: str, **changes: Any) -> dict[str, Any]:
    return {"content_type": "application/pdf", "filename": "report.pdf", "data": data} | changes


@pytest.mark.parametrize("kind", list(MessageKind))
def test_unknown_top_level_field_is_refused(kind: MessageKind) -> None:
    rejects(kind, payload(kind, national_id="X"), "Extra inputs are not permitted")


def test_unknown_nested_field_is_refused() -> None:
    data = payload(REFERRAL)
    data["subject"]["school"] = "Example Primary"
    rejects(REFERRAL, data, r"subject\.school")


@pytest.mark.parametrize(
    ("field", "limit"), [("requested_service_detail", TEXT_MAX), ("narrative", NARRATIVE_MAX)]
)
def test_free_text_is_capped(field: str, limit: int) -> None:
    accepts(REFERRAL, payload(REFERRAL, **{field: "x" * limit}))
    rejects(REFERRAL, payload(REFERRAL, **{field: "x" * (limit + 1)}), "at most")


def test_names_are_capped() -> None:
    data = payload(REFERRAL)
    data["subject"]["given_name"] = "x" * NAME_MAX
    accepts(REFERRAL, data)
    data["subject"]["given_name"] = "x" * (NAME_MAX + 1)
    rejects(REFERRAL, data, "at most 200")


@pytest.mark.parametrize("bad", ["", "   ", "Test\nChild", "Test\x00Child", "\x1b[31mred"])
def test_names_are_one_non_blank_line_without_control_characters(bad: str) -> None:
    data = payload(REFERRAL)
    data["subject"]["family_name"] = bad
    rejects(REFERRAL, data, "family_name")


def test_free_text_keeps_line_breaks_but_refuses_nul() -> None:
    accepts(REFERRAL, payload(REFERRAL, narrative="Line one.\r\n\tLine two."))
    rejects(REFERRAL, payload(REFERRAL, narrative="Line one.\x00"), "narrative")
    rejects(REFERRAL, payload(REFERRAL, narrative="\n\t "), "narrative")


def test_lists_are_capped() -> None:
    data = payload(REFERRAL)
    data["subject"]["languages"] = [f"a{c}" for c in "abcdefghi"]
    rejects(REFERRAL, data, "at most 8")


def test_at_most_five_attachments() -> None:
    one = _attachment(base64.b64encode(b"%PDF-1.7").decode())
    accepts(REFERRAL, payload(REFERRAL, attachments=[one] * 5))
    rejects(REFERRAL, payload(REFERRAL, attachments=[one] * 6), "at most 5")


def test_attachment_is_capped_at_two_mib_decoded() -> None:
    exact = base64.b64encode(b"\0" * ATTACHMENT_MAX_BYTES).decode()
    accepts(REFERRAL, payload(REFERRAL, attachments=[_attachment(exact)]))
    over = base64.b64encode(b"\0" * (ATTACHMENT_MAX_BYTES + 1)).decode()
    rejects(REFERRAL, payload(REFERRAL, attachments=[_attachment(over)]), "at most 2097152")


def test_huge_attachment_text_is_refused_before_decoding() -> None:
    huge = "A" * (8 * ATTACHMENT_MAX_BYTES)
    rejects(REFERRAL, payload(REFERRAL, attachments=[_attachment(huge)]), "exceeds")


@pytest.mark.parametrize("bad", ["not base64!", "aGk", "aGk=\n", "aG k="])
def test_attachment_data_is_strict_base64(bad: str) -> None:
    rejects(REFERRAL, payload(REFERRAL, attachments=[_attachment(bad)]), "base64")


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("filename", "../../etc/passwd"),
        ("filename", ".bashrc"),
        ("filename", "C:\\evil.exe"),
        ("content_type", "application/pdf; charset=x"),
        ("content_type", "multipart/mixed"),
        ("content_type", "Application/PDF"),
    ],
)
def test_attachment_names_and_types_are_restricted(field: str, bad: str) -> None:
    attachment = _attachment("aGk=", **{field: bad})
    rejects(REFERRAL, payload(REFERRAL, attachments=[attachment]), field)


@pytest.mark.parametrize(
    ("field", "bad"),
    [("country", "gb"), ("country", "GBR"), ("postal_code", "ZZ1\n1ZZ")],
)
def test_address_codes_are_checked(field: str, bad: str) -> None:
    data = payload(REFERRAL)
    data["subject"]["address"][field] = bad
    rejects(REFERRAL, data, field)


def test_errors_do_not_echo_personal_data() -> None:
    data = payload(REFERRAL)
    data["subject"]["family_name"] = "Secretname\n"
    error = rejects(REFERRAL, data, "family_name")
    assert "Secretname" not in str(error)
    assert "Secretname" not in repr(error)
    # Structured errors keep the input unless asked not to: callers must pass the flag.
    assert "Secretname" not in error.json(include_input=False)
    assert "Secretname" in error.json()
