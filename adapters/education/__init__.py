"""The education adapter: schools' reports of concern, dropped as CSV or JSON files into a
watched folder, sent as referrals to the social-services agency named in the table, with a
receipt per file (docs/adapters.md, `## education`)."""

from collections.abc import Mapping
from typing import Any

from adapters.education.edge import EducationAdapter
from adapters.education.settings import parse_settings
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext

__all__ = ["EducationAdapter", "build"]


def build(table: Mapping[str, Any], context: AdapterContext) -> EducationAdapter:
    """The adapter from its `[adapters.education]` table; raises AdapterConfigError (one
    line) for a bad table or a `send_as` that names no user of the gateway."""
    settings = parse_settings(table, context.folder)
    user = context.users.get(settings.send_as)
    if user is None:
        raise AdapterConfigError("[adapters.education]: send_as names no user of this gateway")
    return EducationAdapter(settings, context, user)
