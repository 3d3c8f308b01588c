"""The education adapter: schools' reports of concern, dropped as CSV or JSON files into a
watched folder, sent as referrals to the social-services agency named in the table, with a
receipt per file (docs/adapters.md, `## education`)."""

from collections.abc import Mapping
from typing import Any

from adapters.education.edge import EducationAdapter
from adapters.education.settings import parse_settings
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext
from broker.gateway.consent_rules import supervisor_names
from broker.logs import get_logger

__all__ = ["EducationAdapter", "build"]

log = get_logger(__name__)


def build(table: Mapping[str, Any], context: AdapterContext) -> EducationAdapter:
    """The adapter from its `[adapters.education]` table; raises AdapterConfigError (one
    line) for a bad table or a `send_as` that names no user of the gateway, and
    FolderOpenToOthers when the watched folder lets others in. Warns when
    `without_consent.authorised_by` names no supervisor of the gateway's users file."""
    settings = parse_settings(table, context.folder)
    user = context.gateway.users.get(settings.send_as)
    if user is None:
        raise AdapterConfigError("[adapters.education]: send_as names no user of this gateway")
    policy = settings.without_consent
    if policy is not None and policy.authorised_by.name not in supervisor_names(
        context.gateway.users
    ):
        # Said once at start rather than only on every receipt: the gateway refuses each
        # such row (not_authorised_by_supervisor). The name itself is not logged.
        log.warning("education without_consent.authorised_by is no supervisor of this gateway")
    adapter = EducationAdapter(settings, context, user)
    # Checked now, so that a folder open to others stops the gateway's start in one line.
    adapter.folder.prepare()
    return adapter
