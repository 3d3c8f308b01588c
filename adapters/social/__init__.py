"""The social-services adapter: Primero's API v2 for referrals and transfers (`social`).

A client written for Primero (OpenFn's Primero adaptor: getCases with referrals,
getReferrals, createReferrals, updateReferral) works against the gateway unchanged for
referrals and transfers; where Caselink differs is written in docs/adapters.md, `## social`.
"""

from collections.abc import Mapping
from typing import Any

from adapters.social.edge import SocialAdapter
from adapters.social.settings import load_settings
from broker.gateway.adapter_port import AdapterContext


def build(table: Mapping[str, Any], context: AdapterContext) -> SocialAdapter:
    """The adapter of an `[adapters.social]` table; raises AdapterConfigError (one line)."""
    return SocialAdapter(load_settings(table), context)
