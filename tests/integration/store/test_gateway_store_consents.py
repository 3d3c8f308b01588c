"""The consent register's part of the GatewayStore contract (memory, SQLite, PostgreSQL)."""

from dataclasses import replace
from datetime import date

from broker.gateway.ports import GatewayStore
from broker.gateway.records import ConsentRecord
from tests.gateway_records import outgoing

CONSENT = "00000000-0000-4000-8000-0000000000c1"
OTHER = "00000000-0000-4000-8000-0000000000c2"
THIRD, FOURTH, FIFTH, SIXTH = (f"00000000-0000-4000-8000-0000000000c{n}" for n in range(3, 7))


def record(consent_id: str = CONSENT, **changes: object) -> ConsentRecord:
    values: dict[str, object] = {
        "consent_id": consent_id,
        "status": "granted",
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2027, 6, 30),
        "agencies": ("police-west",),
        "agency_kinds": ("health", "social_services"),
        "purposes": ("assessment", "service_provision"),
        "data_categories": ("identity", "health"),
        "giver": "parent",
        "recorded_at": 100.0,
        "recorded_by": "ana",
        "sealed": b"caselink-record/v1\x00\xffopaque" + consent_id.encode(),
    }
    return ConsentRecord(**(values | changes))  # type: ignore[arg-type]


async def test_a_consent_is_kept_as_given_and_replaced_by_its_id(store: GatewayStore) -> None:
    assert await store.consent(CONSENT) is None
    granted = record()
    await store.save_consent(granted)
    assert await store.consent(CONSENT) == granted
    withdrawn = replace(granted, status="withdrawn", withdrawn_at=150.0, sealed=b"\x01other")
    await store.save_consent(withdrawn)
    assert await store.consent(CONSENT) == withdrawn
    assert await store.consents() == [withdrawn]


async def test_the_register_lists_latest_recorded_first(store: GatewayStore) -> None:
    first, second = record(recorded_at=10.0), record(OTHER, recorded_at=20.0, agencies=())
    await store.save_consent(first)
    await store.save_consent(second)
    assert await store.consents() == [second, first]
    assert await store.consents(limit=1, offset=1) == [first]


async def test_a_withdrawal_and_its_notices_are_kept_together(store: GatewayStore) -> None:
    notices = [outgoing(kind="consent", status="withdrawn", urgency=None) for _ in range(2)]
    await store.save_consent(record(status="withdrawn", withdrawn_at=5.0), notices)
    due = await store.due(now=10_000.0, limit=10)
    assert {m.message_id for m in due} == {n.message_id for n in notices}


async def test_recipients_are_those_sent_data_citing_the_consent(store: GatewayStore) -> None:
    await store.enqueue(
        [
            outgoing(recipient="social-east", consent_ref=CONSENT),
            outgoing(recipient="oscc-north", kind="transfer", consent_ref=CONSENT),
            outgoing(recipient="social-east", consent_ref=CONSENT),
            outgoing(recipient="police-west", consent_ref=OTHER),
            outgoing(recipient="police-west"),
            # A consent message is not data sent under the consent.
            outgoing(recipient="school-x", kind="consent", status="granted", urgency=None),
        ]
    )
    assert await store.consent_recipients(CONSENT) == ["oscc-north", "social-east"]
    assert await store.consent_recipients(OTHER) == ["police-west"]
    [kept] = [m for m in await store.due(now=10_000.0, limit=10) if m.consent_ref == OTHER]
    assert kept.recipient == "police-west"


async def test_the_register_in_force_on_a_day_is_granted_and_in_date(
    store: GatewayStore,
) -> None:
    day = date(2026, 6, 1)
    old_grant = record(recorded_at=1.0)  # recorded long ago, still in force
    expired = record(OTHER, valid_until=date(2026, 5, 31), recorded_at=2.0)
    not_yet = record(THIRD, valid_from=date(2026, 6, 2), recorded_at=3.0)
    refused = record(FOURTH, status="refused", recorded_at=4.0)
    withdrawn = record(FIFTH, status="withdrawn", withdrawn_at=5.0, recorded_at=5.0)
    last_day = record(SIXTH, valid_from=day, valid_until=day, recorded_at=6.0)
    for consent in (old_grant, expired, not_yet, refused, withdrawn, last_day):
        await store.save_consent(consent)
    assert await store.consents(in_force_on=day) == [last_day, old_grant]
    assert await store.consents(in_force_on=day, limit=1) == [last_day]
    assert len(await store.consents()) == 6
