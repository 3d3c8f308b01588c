"""Every valid body survives JSON and Python round trips unchanged."""

from hypothesis import given, settings
from pydantic import BaseModel

from schemas.bodies import body_model
from schemas.kinds import MessageKind
from tests.strategies import any_kind_and_body


@settings(max_examples=200, deadline=None)
@given(any_kind_and_body())
def test_json_round_trip(kind_and_body: tuple[MessageKind, BaseModel]) -> None:
    kind, body = kind_and_body
    assert body_model(kind).model_validate_json(body.model_dump_json()) == body


@settings(max_examples=50, deadline=None)
@given(any_kind_and_body())
def test_python_round_trips(kind_and_body: tuple[MessageKind, BaseModel]) -> None:
    kind, body = kind_and_body
    model = body_model(kind)
    assert model.model_validate(body.model_dump()) == body
    assert model.model_validate(body.model_dump(mode="json")) == body
