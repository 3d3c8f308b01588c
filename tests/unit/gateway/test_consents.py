"""The consent register at work in a gateway: recorded sealed, enforced on every send,
withdrawn to every agency that received data under it (memory store, in-memory broker)."""

import json
from typing import Any

import pytest

from broker.envelope.codec import decode_envelope
from broker.gateway.consent_register import ConsentConflict, ConsentNotRecorded
from broker.gateway.consent_rules import ConsentRefused
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import InboxState, ReadChannel
from schemas.consent import Consent
from schemas.examples import CONSENT_ID, example_body
from schemas.kinds import AgencyKind, ConsentStatus, LawfulBasis, MessageKind
from schemas.referral import Referral
from tests.consents import recorder, wide_consent
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway, referral_request
from tests.waiting import eventually

A, B, C = "oscc-north", "social-east", "police-west"
OTHER_CONSENT = "00000000-0000-4000-8000-0000000000aa"


def referral(**changes: Any) -> Referral:
    body = example_body(MessageKind.REFERRAL)
    assert isinstance(body, Referral)
    return body.model_copy(update=changes)


async def test_a_consent_is_kept_sealed_listed_by_category_and_recorded_once() -> None:
    store = MemoryGatewayStore()
    gateway = make_gateway(memory_federation(), A, store=store)
    consent = wide_consent(OTHER_CONSENT)
    async with api_of(gateway) as api:
        made = await api.post("/v1/consents/records", json=json.loads(consent.model_dump_json()))
        assert made.status_code == 201, made.text
        assert made.json()["status"] == "granted"
        assert made.json()["recorded_by"] == "case-system"
        listed = (await api.get("/v1/consents/records")).json()
        assert {c["consent_id"] for c in listed} == {CONSENT_ID, OTHER_CONSENT}
        text = json.dumps(listed)
        for name in ("Test", "Child", "Parent"):  # whose consent is never listed
            assert name not in text
        again = await api.post("/v1/consents/records", json=json.loads(consent.model_dump_json()))
        assert again.status_code == 201  # the same consent again: nothing changes
        other = consent.model_copy(
            update={"scope": consent.scope.model_copy(update={"agency_kinds": [AgencyKind.HEALTH]})}
        )
        conflict = await api.post("/v1/consents/records", json=json.loads(other.model_dump_json()))
        assert conflict.status_code == 409
        shown = (await api.get(f"/v1/consents/records/{OTHER_CONSENT}")).json()
        assert shown["shared_with"] == []
        assert (await api.get(f"/v1/consents/records/{CONSENT_ID[:-1]}9")).status_code == 404
    record = await store.consent(OTHER_CONSENT)
    assert record is not None
    assert b"Test" not in record.sealed
    assert b"Parent" not in record.sealed
    assert await gateway.consent_body(record) == consent


async def test_a_refused_send_answers_422_and_nothing_is_sealed_or_stored() -> None:
    store = MemoryGatewayStore()
    async with api_of(make_gateway(memory_federation(), A, store=store)) as api:
        request = referral_request(B, consent_ref=OTHER_CONSENT)
        answer = await api.post(
            "/v1/referrals", json=request, headers={"Idempotency-Key": "refused-1"}
        )
        assert answer.status_code == 422
        assert answer.json() == {
            "detail": f"consent {OTHER_CONSENT} is not recorded here",
            "reason": "consent_not_recorded",
        }
        plain = await api.post("/v1/referrals", json=request)
        assert plain.status_code == 422
    assert await store.sent() == []
    assert await store.counts() == {"outbox_pending": 0, "inbox_total": 0}
    assert store._submissions == {}  # not even the Idempotency-Key was claimed


async def test_a_supervisors_lawful_basis_goes_and_its_header_says_so() -> None:
    store = MemoryGatewayStore()
    gateway = make_gateway(memory_federation(), A, store=store)
    async with api_of(gateway):
        body = Referral.model_validate(
            referral().model_dump()
            | {
                "consent_ref": None,
                "lawful_basis": LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
                "justification": "Injuries seen in the emergency department.",
                "authorised_by": {"name": "sam", "role": "Duty manager"},
            }
        )
        entry = await gateway.submit(body, kind=MessageKind.REFERRAL, recipient=B)
        assert entry.envelope is not None
        header = decode_envelope(entry.envelope).header
        assert header.basis is LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
        assert entry.consent_ref is None
        with pytest.raises(ConsentRefused) as refused:
            await gateway.submit(
                body.model_copy(update={"authorised_by": recorder().worker}),
                kind=MessageKind.REFERRAL,
                recipient=B,
            )
        assert refused.value.reason == "not_authorised_by_supervisor"
        cited = await gateway.submit(referral(), kind=MessageKind.REFERRAL, recipient=B)
        assert cited.envelope is not None
        assert decode_envelope(cited.envelope).header.basis is None
        assert cited.consent_ref == CONSENT_ID


async def test_a_withdrawal_reaches_every_recipient_in_one_thread_and_stops_later_sends() -> None:
    federation = memory_federation()
    store_a = MemoryGatewayStore()
    store_b, store_c = MemoryGatewayStore(), MemoryGatewayStore()
    gateway_a = make_gateway(federation, A, store=store_a)
    gateway_b = make_gateway(federation, B, store=store_b)
    gateway_c = make_gateway(federation, C, store=store_c)
    async with api_of(gateway_a) as api, api_of(gateway_b), api_of(gateway_c):
        for recipient in (B, C, B):
            sent = await api.post("/v1/referrals", json=referral_request(recipient))
            assert sent.status_code == 202, sent.text
        # Another consent's referral: its recipient is not told of this withdrawal.
        await gateway_a.record_consent(wide_consent(OTHER_CONSENT), by=recorder())
        await api.post("/v1/referrals", json=referral_request(C, consent_ref=OTHER_CONSENT))
        shown = (await api.get(f"/v1/consents/records/{CONSENT_ID}")).json()
        assert shown["shared_with"] == sorted([B, C])

        withdrawn = await api.post(f"/v1/consents/records/{CONSENT_ID}/withdraw")
        assert withdrawn.status_code == 202, withdrawn.text
        notices = withdrawn.json()["notices"]
        assert len(notices) == 2
        entries = [await store_a.sent_message(message_id) for message_id in notices]
        assert {e.message.recipient for e in entries if e} == {B, C}
        assert len({e.message.thread_id for e in entries if e}) == 1
        assert {(e.message.kind, e.message.status) for e in entries if e} == {
            ("consent", "withdrawn")
        }

        async def acknowledged() -> bool:
            statuses = [await store_a.sent_message(message_id) for message_id in notices]
            return all(s is not None and s.delivered_at is not None for s in statuses)

        await eventually(acknowledged, "B and C acknowledge the withdrawal")
        for store in (store_b, store_c):
            [received] = await store.inbox(kind="consent")
            assert received.state is InboxState.INFORMATIONAL
            assert received.status == "withdrawn"
        to_b = next(e.message.message_id for e in entries if e and e.message.recipient == B)
        _, opened = await gateway_b.read(to_b, recorder(), ReadChannel.API)
        assert isinstance(opened, Consent)
        assert opened.status is ConsentStatus.WITHDRAWN
        assert opened.withdrawn_at is not None

        later = await api.post("/v1/referrals", json=referral_request(B))
        assert later.status_code == 422
        assert later.json()["reason"] == "consent_withdrawn"
        assert (await api.post(f"/v1/consents/records/{CONSENT_ID}/withdraw")).json()[
            "notices"
        ] == []  # withdrawn already: nobody is told twice
    record = await store_a.consent(CONSENT_ID)
    assert record is not None
    assert record.status == "withdrawn"
    assert record.recorded_by == "case-system"


async def test_recording_a_withdrawn_status_is_a_withdrawal() -> None:
    federation = memory_federation()
    store = MemoryGatewayStore()
    gateway = make_gateway(federation, A, store=store)
    async with api_of(gateway), api_of(make_gateway(federation, B)):
        await gateway.submit(referral(), kind=MessageKind.REFERRAL, recipient=B)
        body = wide_consent(status=ConsentStatus.WITHDRAWN, withdrawn_at=1_780_000_000)
        await gateway.record_consent(body, by=recorder())
        [notice] = [s for s in await store.sent() if s.message.kind == "consent"]
        assert notice.message.recipient == B
        with pytest.raises(ConsentConflict):
            await gateway.record_consent(wide_consent(), by=recorder())
        with pytest.raises(ConsentRefused):
            await gateway.submit(referral(), kind=MessageKind.REFERRAL, recipient=B)
    record = await store.consent(CONSENT_ID)
    assert record is not None
    assert record.withdrawn_at == 1_780_000_000


async def test_withdrawing_an_unknown_consent_is_not_recorded() -> None:
    gateway = make_gateway(memory_federation(), A)
    async with api_of(gateway) as api:
        with pytest.raises(ConsentNotRecorded):
            await gateway.withdraw_consent(OTHER_CONSENT, by=recorder())
        missing = await api.post(f"/v1/consents/records/{OTHER_CONSENT}/withdraw")
        assert missing.status_code == 404
