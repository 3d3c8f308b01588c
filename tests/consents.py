"""Consents for tests: one that covers every agency kind and purpose, and a way to record it.

Referrals and transfers leave a gateway only under a recorded consent (or a supervisor's
lawful basis), so every test that sends the example bodies records the consent they cite
(schemas.examples.CONSENT_ID) first, with dates wide enough never to lapse mid-suite.
"""

from datetime import date
from typing import Any

from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser
from schemas.common import Worker
from schemas.consent import (
    Consent,
    ConsentGiver,
    ConsentRelation,
    ConsentScope,
    DataCategory,
    Purpose,
)
from schemas.examples import CONSENT_ID, example_body
from schemas.kinds import AgencyKind, ConsentStatus, MessageKind
from tests.gateway_users import make_users


def recorder() -> GatewayUser:
    """The system user of tests/gateway_users, who records consents in these tests."""
    return make_users()["case-system"]


def wide_consent(consent_id: str = CONSENT_ID, **changes: Any) -> Consent:
    """A granted consent for every kind, purpose and category, 2020 to 2099; `changes`
    replace fields (scope fields included: agencies, agency_kinds, purposes...)."""
    example = example_body(MessageKind.CONSENT)
    assert isinstance(example, Consent)
    scope_fields = {"agencies", "agency_kinds", "purposes", "data_categories"}
    scope = {
        "agencies": [],
        "agency_kinds": list(AgencyKind),
        "purposes": list(Purpose),
        "data_categories": list(DataCategory),
    } | {key: value for key, value in changes.items() if key in scope_fields}
    fields = {
        "consent_id": consent_id,
        "subject": example.subject,
        "given_by": ConsentGiver(name="Test Parent", relation=ConsentRelation.PARENT),
        "scope": ConsentScope(**scope),
        "valid_from": date(2020, 1, 1),
        "valid_until": date(2099, 12, 31),
        "status": ConsentStatus.GRANTED,
        "recorded_by": Worker(name="Test Recorder", role="Caseworker"),
    } | {key: value for key, value in changes.items() if key not in scope_fields}
    return Consent(**fields)


async def grant_example_consent(*gateways: Gateway) -> None:
    """Record, at each gateway, the consent the example referral and transfer cite."""
    for gateway in gateways:
        await gateway.record_consent(wide_consent(), by=recorder())
