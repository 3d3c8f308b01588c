"""The adapter port: how an agency adapter (`adapters/<kind>/`) runs inside its gateway.

An adapter speaks an agency's native form (FHIR, a school's export files, a police
webhook, Primero's API) and calls the gateway service in process: `Gateway.submit` to
send, `Gateway.read` to open what arrived (the read recorded), `Gateway.respond` to answer.
It is switched on by a table of the gateway's config, `[adapters.<name>]`, and found by
name among the `caselink.adapters` entry points (pyproject.toml), so the gateway, which
sits below `adapters/` in the layers, never imports one.

Each adapter may serve HTTP routes on the gateway's API (behind the gateway's sign-in:
the users file's people and systems) and may run background work between `start` and
`stop` (a watched folder, callbacks to deliver). A route that authenticates its caller
itself, from the headers and before reading the body (a signed webhook), names its exact
path in `self_authenticated_paths`; the gateway's sign-in then lets it through.
"""

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from fastapi import APIRouter

from broker.errors import CaselinkError
from broker.gateway.service import Gateway

ENTRY_POINT_GROUP = "caselink.adapters"


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter is given: the gateway in process (its users: `gateway.users`), and
    where it lives.

    `folder` is the gateway config's folder: relative paths in an adapter's table start
    there, as the gateway's own do.
    """

    gateway: Gateway
    folder: Path
    clock: Callable[[], float]


class Adapter(Protocol):
    """One agency adapter, built from its config table and the context."""

    name: str

    def router(self) -> APIRouter | None:
        """The routes it serves on the gateway's API, or None."""

    def self_authenticated_paths(self) -> Collection[str]:
        """Exact paths whose caller the adapter authenticates itself, before the body."""

    async def start(self) -> None:
        """Start background work; called after the gateway has started."""

    async def stop(self) -> None:
        """Stop background work; called before the gateway stops."""


AdapterFactory = Callable[[Mapping[str, Any], AdapterContext], Adapter]
"""An adapter's entry point: its config table and the context in, the adapter out; raises
AdapterConfigError (one line) on a bad table."""


class AdapterConfigError(CaselinkError):
    """An `[adapters.<name>]` table names no installed adapter or does not validate."""

    reason = "adapter_config"


def build_adapters(
    tables: Mapping[str, Mapping[str, Any]], context: AdapterContext
) -> list[Adapter]:
    """The adapters named by the config's tables, built in the tables' order."""
    installed = {point.name: point for point in entry_points(group=ENTRY_POINT_GROUP)}
    adapters: list[Adapter] = []
    for name, table in tables.items():
        point = installed.get(name)
        if point is None:
            known = ", ".join(sorted(installed)) or "none"
            raise AdapterConfigError(f"[adapters.{name}]: no such adapter (installed: {known})")
        factory: AdapterFactory = point.load()
        adapters.append(factory(table, context))
    return adapters
