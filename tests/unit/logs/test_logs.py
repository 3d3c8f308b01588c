"""Logs carry ids and categories only; anything else is refused before it is written."""

import structlog

from broker.logs import bound_ids, refuse_body_fields
from schemas.examples import example_body
from schemas.kinds import MessageKind


def test_fields_outside_the_allowlist_are_dropped_and_named() -> None:
    event = refuse_body_fields(
        None,
        "info",
        {
            "event": "opened",
            "message_id": "m-1",
            "narrative": "SECRET",
            "subject": "SECRET",
        },
    )
    assert event == {
        "event": "opened",
        "message_id": "m-1",
        "refused_fields": ["narrative", "subject"],
    }


def test_models_and_bytes_are_dropped_even_under_an_allowed_name() -> None:
    body = example_body(MessageKind.REFERRAL)
    event = refuse_body_fields(None, "info", {"event": "x", "kind": body, "reason": b"raw"})
    assert event == {"event": "x", "refused_fields": ["kind", "reason"]}


def test_bound_ids_reach_every_line_inside_the_block_only() -> None:
    with bound_ids(message_id="m-1", thread_id="t-1", sender=None):
        assert structlog.contextvars.get_contextvars() == {"message_id": "m-1", "thread_id": "t-1"}
    assert structlog.contextvars.get_contextvars() == {}
