"""Reading validated FHIR JSON: find a referenced resource, a coding, an extension (pure).

The mapping reads resources as the JSON that fhir.resources dumps after validating them
(`validated`), so every shape here is already FHIR-valid; what these helpers check is what
Caselink needs on top. References resolve within one request: `#id` to a resource the Task
contains, anything else to a Bundle entry by its fullUrl (`urn:uuid:...`) or `Type/id`.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from adapters.health.outcome import InvalidResource, Missing, WrongResource
from adapters.health.vocabulary import AGENCY_SYSTEM

Json = dict[str, Any]


def validated(model: Any, data: Any, resource_type: str) -> Json:
    """`data` checked as the FHIR R4 `resource_type` (`model`, an R4B class), as plain JSON.

    Raises WrongResource (another resourceType) and InvalidResource (fails validation).
    """
    if not isinstance(data, dict) or data.get("resourceType") != resource_type:
        raise WrongResource(f"expected a {resource_type} resource")
    try:
        parsed = model.model_validate(data)  # raises; the model itself is not kept
    except ValidationError as error:
        raise InvalidResource.of(resource_type, error) from None
    except (KeyError, TypeError, ValueError):
        # fhir.resources raises KeyError for a resourceType it does not know (contained or
        # in an entry): a structure fault, reported without the name that was sent.
        raise InvalidResource(resource_type, []) from None
    del parsed
    # The input itself, now known valid, without the nulls a model would take for absent:
    # dumping the model again costs as much as validating it (measured: 6 ms a Bundle).
    found: Json = _without_nulls(data)
    return found


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


class Resources:
    """The resources one request carries, found by reference."""

    def __init__(self, container: Json, entries: Sequence[tuple[str | None, Json]] = ()) -> None:
        self._contained = {str(r["id"]): r for r in container.get("contained", []) if "id" in r}
        by_ref: dict[str, Json] = {}
        for full_url, resource in entries:
            if full_url:
                by_ref[full_url] = resource
            if "id" in resource:
                by_ref[f"{resource['resourceType']}/{resource['id']}"] = resource
        self._entries = by_ref

    def find(self, reference: Mapping[str, Any] | None) -> Json | None:
        """The resource `reference` points to within the request, or None."""
        target = (reference or {}).get("reference")
        if not isinstance(target, str):
            return None
        if target.startswith("#"):
            return self._contained.get(target[1:])
        return self._entries.get(target) or self._entries.get(_type_and_id(target))

    def get(self, reference: Mapping[str, Any] | None, resource_type: str, where: str) -> Json:
        """The `resource_type` that `reference` points to; raises Missing (422)."""
        found = self.find(reference)
        if found is None or found.get("resourceType") != resource_type:
            raise Missing(
                f"{where} must reference a {resource_type} in the request", expression=where
            )
        return found


def _type_and_id(reference: str) -> str:
    # An absolute URL ending in Type/id names the same resource as Type/id.
    return "/".join(reference.rstrip("/").split("/")[-2:])


def codes(concepts: Any, system: str) -> list[str]:
    """Every code of `system` in a CodeableConcept or a list of them, in order."""
    items = concepts if isinstance(concepts, list) else [concepts or {}]
    return [
        str(coding["code"])
        for concept in items
        for coding in concept.get("coding", [])
        if coding.get("system") == system and "code" in coding
    ]


def concept(system: str, code: str, text: str | None = None) -> Json:
    """A CodeableConcept of one coding, with `text` when given."""
    found: Json = {"coding": [{"system": system, "code": code}]}
    if text is not None:
        found["text"] = text
    return found


def extensions(resource: Mapping[str, Any], url: str) -> list[Json]:
    """The extensions of `resource` with `url`."""
    return [e for e in resource.get("extension", []) if e.get("url") == url]


def extension_value(resource: Mapping[str, Any], url: str, key: str) -> Any:
    """The `key` value (`valueCode`...) of the first extension `url`, or None."""
    found = extensions(resource, url)
    return found[0].get(key) if found else None


def agency_reference(agency_id: str) -> Json:
    """An Organization reference naming a Caselink agency by its id."""
    return {"type": "Organization", "identifier": {"system": AGENCY_SYSTEM, "value": agency_id}}


def identifier_value(reference: Mapping[str, Any] | None, system: str) -> str | None:
    """The identifier value of `system` a logical reference carries, or None."""
    identifier = (reference or {}).get("identifier") or {}
    value = identifier.get("value")
    return str(value) if identifier.get("system") == system and value is not None else None
