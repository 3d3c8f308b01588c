"""The police adapter: child-concern notifications by signed webhook, answers called back.

`build` is the `caselink.adapters` entry point `police`; docs/adapters.md, `## police`,
documents the table, the notification's schema, the callbacks and the errors.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from adapters.police.delivery import Target
from adapters.police.edge import PoliceAdapter
from adapters.police.mapping import supervisors_by_collar
from adapters.police.schedule import STANDARD_SCHEDULE_S
from adapters.police.settings import load
from adapters.police.signing import SecretError, parse_secret
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext
from broker.gateway.users import Role
from broker.keystore import read_private

__all__ = ["PoliceAdapter", "build"]


def build(
    table: Mapping[str, Any],
    context: AdapterContext,
    *,
    schedule: Sequence[float] = STANDARD_SCHEDULE_S,
    transport: httpx.AsyncBaseTransport | None = None,
) -> PoliceAdapter:
    """The adapter of `[adapters.police]`; `schedule` and `transport` are for tests.

    Raises AdapterConfigError (one line) for a bad table, a `send_as` that is not a system
    user, or a secret file that is missing or not a Standard Webhooks secret, and
    KeyFilePermissionError for a secret file that group or others may read.
    """
    settings = load(table, context.folder)
    sender = context.gateway.users.get(settings.send_as)
    if sender is None or sender.role is not Role.SYSTEM:
        raise AdapterConfigError(
            "[adapters.police]: send_as names no system user of the users file"
        )
    keys: dict[str, bytes] = {}
    targets: dict[str, Target] = {}
    for name, system in settings.systems.items():
        keys[name] = _secret(system.secret_file, f"systems.{name}.secret_file")
        targets[name] = Target(
            url=system.callback_url,
            key=_secret(system.callback_secret_file, f"systems.{name}.callback_secret_file"),
        )
    # An authorising officer is matched to a supervisor account by collar number: see mapping.
    supervisors = supervisors_by_collar(
        {
            user.name: user.worker.name
            for user in context.gateway.users.values()
            if user.role is Role.SUPERVISOR
        }
    )
    return PoliceAdapter(
        settings=settings,
        supervisors=supervisors,
        gateway=context.gateway,
        sender=sender,
        keys=keys,
        targets=targets,
        clock=context.clock,
        schedule=schedule,
        transport=transport,
    )


def _secret(path: Path, field: str) -> bytes:
    try:
        text = read_private(path).decode("ascii")
    except FileNotFoundError:
        raise AdapterConfigError(f"[adapters.police]: {field}: no file at {path}") from None
    except UnicodeDecodeError:
        raise AdapterConfigError(f"[adapters.police]: {field}: not a whsec_ secret") from None
    try:
        return parse_secret(text)
    except SecretError as error:
        raise AdapterConfigError(f"[adapters.police]: {field}: {error}") from None
