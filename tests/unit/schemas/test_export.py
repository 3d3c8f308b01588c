"""The checked-in JSON Schemas are current, and every string and list in them is bounded."""

import json
from pathlib import Path
from typing import Any

import pytest

import schemas
from schemas.export import json_schemas, render
from schemas.kinds import MessageKind

CHECKED_IN = Path(schemas.__file__).parent / "json"
REGENERATE = "run `caselink schemas export schemas/json` and commit the result"


def test_there_is_a_schema_per_body_and_directory_model() -> None:
    stems = set(json_schemas())
    assert {k.value for k in MessageKind} <= stems
    assert {"envelope_header", "directory", "agency", "public_key"} <= stems


def test_checked_in_schemas_are_current() -> None:
    expected = {f"{stem}.json": render(s) for stem, s in json_schemas().items()}
    on_disk = {p.name: p.read_text() for p in CHECKED_IN.glob("*.json")}
    assert sorted(on_disk) == sorted(expected), f"schemas/json has the wrong files: {REGENERATE}"
    stale = sorted(name for name in expected if on_disk[name] != expected[name])
    assert not stale, f"stale JSON Schemas {stale}: {REGENERATE}"


def test_render_is_canonical() -> None:
    text = render({"b": 1, "a": {"d": [], "c": "é"}})
    assert text.endswith("}\n")
    assert text.index('"a"') < text.index('"b"')
    assert text.isascii()
    assert json.loads(text) == {"b": 1, "a": {"d": [], "c": "é"}}


def _unbounded(node: Any, path: str) -> list[str]:
    """Paths of string and array schemas without maxLength / maxItems."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"maxLength", "enum", "const", "format"} & set(
            node
        ):
            found.append(path)
        if node.get("type") == "array" and "maxItems" not in node:
            found.append(path)
        for key, value in node.items():
            found += _unbounded(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _unbounded(value, f"{path}/{i}")
    return found


@pytest.mark.parametrize("kind", list(MessageKind))
def test_every_body_string_and_list_is_bounded(kind: MessageKind) -> None:
    assert _unbounded(json_schemas()[kind.value], kind.value) == []


@pytest.mark.parametrize("kind", list(MessageKind))
def test_body_schemas_refuse_unknown_properties(kind: MessageKind) -> None:
    schema = json_schemas()[kind.value]
    objects = [schema, *schema.get("$defs", {}).values()]
    for obj in objects:
        if obj.get("type") == "object":
            assert obj.get("additionalProperties") is False, obj.get("title")
