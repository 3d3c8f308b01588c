"""The health adapter: HL7 FHIR R4 for a hospital's One-Stop Crisis Centre.

The hospital's system posts referrals as FHIR (a transaction Bundle, or a Task with its
resources contained), reads the referrals it received and sent as Tasks, and answers by
updating a Task's status; all under /fhir on the gateway's API (`edge.py`). The mapping
to and from Caselink's canonical bodies is pure (`mapping.py`, `people.py`,
`consents.py`, `answers.py`); resources are parsed and validated with fhir.resources' R4B
models. docs/adapters.md, section `health`, documents it.
"""

from collections.abc import Collection, Mapping
from typing import Any

from fastapi import APIRouter

from adapters.health.edge import FhirEndpoint
from adapters.health.settings import HealthSettings, load_settings
from broker.gateway.adapter_port import AdapterContext


class HealthAdapter:
    """The FHIR endpoint; no background work."""

    name = "health"

    def __init__(self, settings: HealthSettings, context: AdapterContext) -> None:
        self.settings = settings
        self._endpoint = FhirEndpoint(context.gateway, settings, context.clock)

    def router(self) -> APIRouter | None:
        return self._endpoint.router()

    def self_authenticated_paths(self) -> Collection[str]:
        return ()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


def build(table: Mapping[str, Any], context: AdapterContext) -> HealthAdapter:
    """The adapter of an `[adapters.health]` table; raises AdapterConfigError (one line)."""
    return HealthAdapter(load_settings(table), context)


__all__ = ["HealthAdapter", "build"]
