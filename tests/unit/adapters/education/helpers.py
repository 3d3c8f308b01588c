"""The education adapter's table and context for tests: a school, a folder, a ledger."""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.education.sample import SAMPLE_URN
from adapters.education.settings import EducationSettings, parse_settings
from broker.gateway.adapter_port import AdapterContext
from broker.gateway.service import Gateway

SCHOOL_AGENCY, SOCIAL = "oscc-north", "social-east"
CONSENT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
POLICY = "Seeking consent would place the child at risk of significant harm (school policy 4.2)."


def table(**overrides: Any) -> dict[str, Any]:
    return {
        "folder": "inbox",
        "state": "state/education.sqlite",
        "send_as": "case-system",
        "recipient": SOCIAL,
        "poll_s": 0.05,
        "schools": {SAMPLE_URN: {"date_format": "%d/%m/%Y"}, "200002": {"date_format": "%Y-%m-%d"}},
        "without_consent": {
            "answers": ["not_sought", "no"],
            "urgencies": ["immediate"],
            "policy": POLICY,
            # sam is the supervisor of tests/gateway_users: the gateway sends a lawful basis
            # only when a supervisor of its users file authorised it.
            "authorised_by": {"name": "sam", "role": "Headteacher"},
        },
    } | overrides


def settings(**overrides: Any) -> EducationSettings:
    return parse_settings(table(**overrides), Path("/nowhere"))


def context(
    gateway: Gateway, folder: Path, clock: Callable[[], float] = time.time
) -> AdapterContext:
    return AdapterContext(gateway=gateway, folder=folder, clock=clock)
