"""Consent on the real RabbitMQ: a withdrawal reaches both recipients, each gateway
acknowledges it, and the tracker follows it to the last acknowledgement; a sharing under a
lawful basis reaches the coordinators as a flag."""

import json
from pathlib import Path
from typing import Any

import pytest

from broker.tracker.state import Phase
from schemas.examples import CONSENT_ID, example_body
from schemas.kinds import LawfulBasis, MessageKind
from schemas.referral import Referral
from tests.consents import recorder
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    make_tracker,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B, C = "oscc-north", "social-east", "police-west"
COORDINATOR = C  # the test federation has three agencies; any may stand for the hub


def referral(**changes: Any) -> Referral:
    body = example_body(MessageKind.REFERRAL)
    assert isinstance(body, Referral)
    return Referral.model_validate(body.model_dump() | changes)


async def drain_alerts(keyed: KeyedFederation, into: list[dict[str, Any]]) -> None:
    async with await connect(keyed.federation.admin_url()) as connection:
        queue = await (await connection.channel()).get_queue("caselink.alerts", ensure=False)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            into.append(json.loads(message.body))


async def test_a_withdrawal_reaches_two_recipients_and_is_acknowledged_by_both(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    tracker = make_tracker(keyed, tmp_path, [COORDINATOR])
    await tracker.start()
    alerts: list[dict[str, Any]] = []
    try:
        async with (
            running(make_gateway(keyed, A, tmp_path)) as gateway_a,
            running(make_gateway(keyed, B, tmp_path)) as gateway_b,
            running(make_gateway(keyed, C, tmp_path)) as gateway_c,
        ):
            for recipient in (B, C):
                await gateway_a.submit(referral(), kind=MessageKind.REFERRAL, recipient=recipient)
            notices = await gateway_a.withdraw_consent(CONSENT_ID, by=recorder())
            assert len(notices) == 2

            async def acknowledged_at_a() -> bool:
                found = [await gateway_a.store.sent_message(m) for m in notices]
                return all(s is not None and s.delivered_at is not None for s in found)

            await eventually(acknowledged_at_a, "B and C acknowledge the withdrawal")
            for gateway in (gateway_b, gateway_c):
                [received] = await gateway.store.inbox(kind="consent")
                assert received.status == "withdrawn"
            notice = await gateway_a.store.sent_message(notices[0])
            assert notice is not None
            thread_id = notice.message.thread_id

            async def followed_to_the_end() -> bool:
                row = await tracker.store.thread(thread_id)
                return row is not None and row.state.phase is Phase.ACKNOWLEDGED

            await eventually(followed_to_the_end, "the tracker sees every acknowledgement")
            row = await tracker.store.thread(thread_id)
            assert row is not None
            assert set(row.state.recipients) == {B, C}

            # A sharing without consent, authorised by A's supervisor: flagged to the hub.
            urgent = referral(
                consent_ref=None,
                lawful_basis=LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
                justification="Injuries seen in the emergency department tonight.",
                authorised_by={"name": "sam", "role": "Duty manager"},
            )
            shared = await gateway_a.submit(urgent, kind=MessageKind.REFERRAL, recipient=B)

            async def flagged() -> bool:
                await drain_alerts(keyed, alerts)
                return any(a.get("message_id") == shared.message_id for a in alerts)

            await eventually(flagged, "the coordinators' shared_without_consent alert")
            [flag] = [a for a in alerts if a.get("message_id") == shared.message_id]
            assert (flag["reason"], flag["level"], flag["detail"]) == (
                "shared_without_consent",
                "flagged",
                "child_protection_significant_harm",
            )
    finally:
        await tracker.stop()
