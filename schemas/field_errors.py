"""Validation errors as they may leave the process: where and what kind, never what was sent.

A body's values are personal data, and so can its keys be: a sender may put a name or a
case number where a field name belongs. So an unknown field is reported by its position
among the unknown fields of its object (`subject.<extra field #2>`), never by its name,
and a message that pydantic would render with something taken from the input (the tag of
a union, the text of a parse error) is rendered with `…` in its place. `input` and `ctx`
are never passed on. The gateway's HTTP API, the command line and the envelope codec all
report validation errors through `field_errors`; adapters should too.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticKnownError

EXTRA_FIELD = "<extra field #{}>"
HIDDEN = "*"
"""Shown for a location part that is not a field name of the schema (see `known`)."""

# Context values that come from the schema (a pattern, a bound, the expected choices), not
# from the input: safe to show. A count of items is not case content either.
_SCHEMA_CONTEXT = frozenset(
    {
        "actual_length",
        "class_name",
        "decimal_places",
        "discriminator",
        "expected",
        "expected_schemes",
        "expected_tags",
        "expected_version",
        "field_type",
        "ge",
        "gt",
        "le",
        "lt",
        "max_digits",
        "max_length",
        "min_length",
        "multiple_of",
        "pattern",
        "whole_digits",
    }
)
# `error` is the text of an exception. For these types it is ours (a schemas/ validator,
# whose messages are constants by the project's rules) or a JSON parser's (positions only);
# elsewhere (uuid_parsing, for one) it can quote the input.
_OWN_ERROR_TEXT = frozenset({"value_error", "assertion_error", "json_invalid"})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failure: its location, a message free of input, and pydantic's error type."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    @property
    def path(self) -> str:
        """The location as `a.b.0.c`, or `(root)` for the whole input."""
        return ".".join(str(part) for part in self.loc) or "(root)"

    def as_json(self) -> dict[str, Any]:
        """The shape FastAPI gives a 422 detail item, without `input`, `ctx` and `url`."""
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


def field_errors(
    errors: Iterable[Mapping[str, Any]], *, known: frozenset[str] | None = None
) -> list[FieldError]:
    """The errors of `ValidationError.errors()` (or FastAPI's) made safe to show.

    With `known` (the field names of the schema, `schema_field_names`), any other name in
    a location is shown as `*` as well: a dict key or a union tag chosen by the sender.
    """
    seen_extra: dict[tuple[str | int, ...], int] = {}
    safe = []
    for error in errors:
        kind = str(error["type"])
        loc: tuple[str | int, ...] = tuple(error["loc"])
        if known is not None:
            loc = tuple(_shown(part, known) for part in loc)
        if kind == "extra_forbidden" and loc:
            # Pydantic reports unknown keys in the order they were sent.
            parent = loc[:-1]
            seen_extra[parent] = seen_extra.get(parent, 0) + 1
            loc = (*parent, EXTRA_FIELD.format(seen_extra[parent]))
        safe.append(FieldError(loc=loc, msg=_message(kind, error), type=kind))
    return safe


def field_paths(errors: Sequence[FieldError], limit: int = 10) -> str:
    """`a.b, c.<extra field #1>`: the distinct paths, sorted, at most `limit` of them."""
    paths = sorted({error.path for error in errors})
    return ", ".join(paths[:limit]) + (" ..." if len(paths) > limit else "")


@cache
def schema_field_names(model: type[BaseModel]) -> frozenset[str]:
    """Every property name anywhere in `model`'s JSON Schema; empty when it has none."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(k for k in props if isinstance(k, str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(model.model_json_schema())
    except Exception:  # a model without a JSON schema just gets opaque locations
        return frozenset()
    return frozenset(names)


def _shown(part: str | int, known: frozenset[str]) -> str | int:
    if isinstance(part, int) or part in known:
        return part
    return HIDDEN


def _message(kind: str, error: Mapping[str, Any]) -> str:
    context = error.get("ctx") or {}
    unsafe = {
        key
        for key in context
        if key not in _SCHEMA_CONTEXT and not (key == "error" and kind in _OWN_ERROR_TEXT)
    }
    if not unsafe:
        # Rendered from a template and schema values only.
        return str(error["msg"])
    # The same message, with `…` where the input would have been quoted.
    values = {key: ("\u2026" if key in unsafe else value) for key, value in context.items()}
    try:
        return PydanticKnownError(kind, values).message()  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):  # not one of pydantic's own types (checked here)
        return f"invalid ({kind})"
