"""Validation errors made safe to show: unknown keys by position, no values, no input text."""

import json
import uuid
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.bodies import body_model
from schemas.examples import example_body
from schemas.field_errors import FieldError, field_errors, field_paths, schema_field_names
from schemas.kinds import MessageKind

# Keys a sender could write instead of a field name: a child's name, a birth date, a case.
CASE_KEYS = ("Jane Roe born 2012-03-04", "case 4711 Smith")
MARKER = "SECRET-MARKER"


class Cat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["cat"]
    id: uuid.UUID


class Dog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["dog"]


class Pets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pet: Annotated[Cat | Dog, Field(discriminator="kind")]
    notes: dict[str, int] = Field(default_factory=dict)


def errors_of(model: type[BaseModel], raw: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(raw))
    return caught.value


def test_unknown_keys_are_named_by_position_per_object_in_sent_order() -> None:
    referral = json.loads(example_body(MessageKind.REFERRAL).model_dump_json())
    referral[CASE_KEYS[0]] = MARKER
    referral["subject"][CASE_KEYS[1]] = MARKER
    referral["subject"][CASE_KEYS[0]] = MARKER
    error = errors_of(body_model(MessageKind.REFERRAL), referral)
    assert any(key in str(error.errors()) for key in CASE_KEYS)  # pydantic's own errors do

    safe = field_errors(error.errors())
    assert [e.path for e in safe] == [
        "subject.<extra field #1>",
        "subject.<extra field #2>",
        "<extra field #1>",
    ]
    assert {e.type for e in safe} == {"extra_forbidden"}
    shown = json.dumps([e.as_json() for e in safe]) + field_paths(safe)
    for secret in (*CASE_KEYS, MARKER, "Jane", "4711"):
        assert secret not in shown


def test_messages_that_would_quote_the_input_quote_nothing() -> None:
    error = errors_of(Pets, {"pet": {"kind": MARKER}})
    assert MARKER in error.errors()[0]["msg"]  # pydantic quotes the tag it did not know
    (tag,) = field_errors(error.errors())
    assert tag.type == "union_tag_invalid"
    assert MARKER not in tag.msg
    assert "expected tags: 'cat', 'dog'" in tag.msg  # what the schema says is still there

    error = errors_of(Pets, {"pet": {"kind": "cat", "id": f"{MARKER}-x"}})
    assert "found `S`" in error.errors()[0]["msg"]  # the UUID parser quotes a character
    (bad_id,) = field_errors(error.errors())
    assert bad_id.path == "pet.cat.id"
    assert bad_id.msg == "Input should be a valid UUID, \u2026"


def test_own_validator_messages_and_schema_bounds_are_kept() -> None:
    ack = json.loads(example_body(MessageKind.ACKNOWLEDGEMENT).model_dump_json())
    ack.update(status="declined", outcome=None)
    error = errors_of(body_model(MessageKind.ACKNOWLEDGEMENT), ack)
    (item,) = field_errors(error.errors())
    assert item.msg == "Value error, a declined acknowledgement needs a reason"
    ack.update(status="accepted", note="x" * 5000)
    error = errors_of(body_model(MessageKind.ACKNOWLEDGEMENT), ack)
    (item,) = field_errors(error.errors())
    assert item.path == "note"
    assert item.msg.startswith("String should have at most ")


def test_only_location_message_and_type_leave() -> None:
    error = errors_of(Pets, {"pet": {"kind": "dog"}, "notes": {"x": MARKER}})
    (item,) = field_errors(error.errors())
    assert item.as_json().keys() == {"loc", "msg", "type"}
    assert error.errors()[0]["input"] == MARKER
    assert MARKER not in json.dumps(item.as_json())


def test_with_known_names_a_dict_key_is_hidden_too() -> None:
    error = errors_of(Pets, {"pet": {"kind": "dog"}, "notes": {CASE_KEYS[0]: "x"}})
    assert field_errors(error.errors())[0].path == f"notes.{CASE_KEYS[0]}"  # without: shown
    (item,) = field_errors(error.errors(), known=schema_field_names(Pets))
    assert item.loc == ("notes", "*")


def test_paths_are_sorted_distinct_and_capped() -> None:
    errors = [FieldError(loc=(f"f{i:02}",), msg="m", type="t") for i in range(12)]
    assert field_paths([*errors, errors[0]], limit=3) == "f00, f01, f02 ..."
    assert field_paths([FieldError(loc=(), msg="m", type="t")]) == "(root)"
