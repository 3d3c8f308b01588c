"""The synthetic examples are valid and the sizes the benchmarks assume."""

import pytest

from schemas.bodies import body_model
from schemas.examples import example_body
from schemas.kinds import MessageKind


@pytest.mark.parametrize("kind", list(MessageKind))
def test_example_is_a_valid_body_of_its_kind(kind: MessageKind) -> None:
    body = example_body(kind)
    model = body_model(kind)
    assert type(body) is model
    assert model.model_validate_json(body.model_dump_json()) == body


def test_referral_example_is_about_two_kib() -> None:
    size = len(example_body(MessageKind.REFERRAL).model_dump_json().encode())
    assert 1_800 <= size <= 2_400, size


def test_examples_are_marked_synthetic() -> None:
    referral = example_body(MessageKind.REFERRAL).model_dump_json()
    assert "SYNTHETIC" in referral
    assert '"given_name":"Test"' in referral
