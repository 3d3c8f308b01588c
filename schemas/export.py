"""The wire contracts as JSON Schema (draft 2020-12), for agencies building in other languages.

Pure: returns dicts and text; writing files is the CLI's job (`caselink schemas export DIR`).
The checked-in copies live in schemas/json/ and a unit test fails when they go stale.
Cross-field rules (exactly one of two fields, and the like) live in model validators and are
stated in each model's description, not in the schema.
"""

import json
from typing import Any

from pydantic import BaseModel

from schemas.arrival import Arrivals
from schemas.bodies import BODY_MODELS
from schemas.directory import Agency, Directory, PublicKey
from schemas.header import EnvelopeHeader

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_OTHER_MODELS: dict[str, type[BaseModel]] = {
    "envelope_header": EnvelopeHeader,
    "directory": Directory,
    "agency": Agency,
    "public_key": PublicKey,
    "arrivals": Arrivals,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File stem -> JSON Schema (validation mode) for every body model and directory model.

    Body stems are the message kind values (`referral`, `acknowledgement`...).
    """
    models = {kind.value: model for kind, model in BODY_MODELS.items()} | _OTHER_MODELS
    return {
        stem: {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema(mode="validation")}
        for stem, model in models.items()
    }


def render(schema: dict[str, Any]) -> str:
    """Canonical text of one schema: sorted keys, 2-space indent, ASCII, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
