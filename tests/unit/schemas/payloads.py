"""JSON payloads built from the examples, for tests that break one rule at a time."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.bodies import body_model
from schemas.examples import example_body
from schemas.kinds import MessageKind


def payload(kind: MessageKind, **changes: Any) -> dict[str, Any]:
    """The example body of `kind` as JSON-mode data, with top-level `changes` applied."""
    return example_body(kind).model_dump(mode="json") | changes


def accepts(kind: MessageKind, data: dict[str, Any]) -> None:
    """Fail unless `data` is a valid body of `kind`."""
    body_model(kind).model_validate(data)


def rejects(kind: MessageKind, data: dict[str, Any], match: str) -> ValidationError:
    """Fail unless `data` is refused as a body of `kind` with an error matching `match`."""
    with pytest.raises(ValidationError, match=match) as caught:
        body_model(kind).model_validate(data)
    return caught.value
