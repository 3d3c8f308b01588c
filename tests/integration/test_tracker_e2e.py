"""The tracker on the real RabbitMQ: flags what nobody answered, once, and nothing else."""

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.envelope import seal
from broker.gateway.api import create_api
from broker.people.passwords import hash_password
from broker.tracker.policy import parse_policy
from broker.tracker.service import TrackerService
from broker.web.app import create_tracker_app
from broker.web.users import Role, User
from schemas.examples import example_body
from schemas.ids import new_thread_id
from schemas.kinds import MessageKind, Urgency
from schemas.referral import Referral
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.integration.amqp_helpers import connect, publish
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    make_tracker,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B, COORDINATOR = "oscc-north", "social-east", "police-west"
RESPONSE_S = 4
SWEEP_S = 0.5
SHORT_SLA = f"""
[referral.emergency]
delivery = "2s"
response = "{RESPONSE_S}s"
[referral.high]
delivery = "1h"
response = "3h"
[referral.normal]
delivery = "4h"
response = "24h"
[referral.low]
delivery = "24h"
response = "72h"
[transfer]
delivery = "4h"
response = "5d"
[consent_withdrawal]
acknowledgement = "24h"
"""


def tracker(keyed: KeyedFederation, folder: Path) -> TrackerService:
    return make_tracker(
        keyed, folder, [COORDINATOR], policy=parse_policy(SHORT_SLA), sweep_interval_s=SWEEP_S
    )


def emergency() -> Referral:
    body = example_body(MessageKind.REFERRAL)
    assert isinstance(body, Referral)
    return body.model_copy(update={"urgency": Urgency.EMERGENCY})


async def drain_alerts(keyed: KeyedFederation, into: list[dict[str, Any]]) -> None:
    """Move every alert waiting on the coordinators' queue into `into`."""
    async with await connect(keyed.federation.admin_url()) as connection:
        queue = await (await connection.channel()).get_queue("caselink.alerts", ensure=False)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            into.append(json.loads(message.body))


async def test_unanswered_referral_is_flagged_once_and_answered_one_is_not(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    alerts: list[dict[str, Any]] = []
    first = tracker(keyed, tmp_path)
    await first.start()
    try:
        async with (
            running(make_gateway(keyed, A, tmp_path)) as gateway_a,
            running(make_gateway(keyed, B, tmp_path)) as gateway_b,
        ):
            sent_at = time.time()
            ignored = await gateway_a.submit(emergency(), kind=MessageKind.REFERRAL, recipient=B)
            answered = await gateway_a.submit(emergency(), kind=MessageKind.REFERRAL, recipient=B)

            async def both_at_b() -> bool:
                return len(await gateway_b.store.inbox(kind="referral")) == 2

            await eventually(both_at_b, "both referrals at B")
            # B's own case system answers.
            api = create_api(gateway_b, make_users(), manage_lifecycle=False)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api),
                base_url="http://b",
                headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"},
            ) as api_b:
                accepted = await api_b.post(f"/v1/inbox/{answered.message_id}/accept", json={})
                assert accepted.status_code == 200

            async def flagged() -> bool:
                await drain_alerts(keyed, alerts)
                return any(a.get("thread_id") == ignored.thread_id for a in alerts)

            await eventually(flagged, "the unanswered referral's reminder", timeout_s=30)
            flagged_after = time.time() - sent_at
            assert flagged_after <= RESPONSE_S + SWEEP_S + 3.0  # + slack for a loaded machine
            reminder = next(a for a in alerts if a.get("thread_id") == ignored.thread_id)
            assert (reminder["level"], reminder["reason"]) == ("reminder", "response_overdue")

            # Restart the tracker mid-way: a new service on the same database.
            await first.stop()
            second = tracker(keyed, tmp_path)
            await second.start()
            try:
                await second.sweep_once()
                await second.sweep_once()

                async def escalated() -> bool:
                    await drain_alerts(keyed, alerts)
                    return any(
                        a["level"] == "escalation" and a.get("thread_id") == ignored.thread_id
                        for a in alerts
                    )

                await eventually(escalated, "the escalation at twice the deadline", timeout_s=30)
                await second.sweep_once()
                await drain_alerts(keyed, alerts)
                ids = [a["alert_id"] for a in alerts]
                assert len(ids) == len(set(ids)), "an alert was published twice"
                keys = [
                    (a["thread_id"], a["level"], a["reason"], a["agency"])
                    for a in alerts
                    if a.get("thread_id")
                ]
                assert len(keys) == len(set(keys)), "an alert was raised twice"
                assert not any(a.get("thread_id") == answered.thread_id for a in alerts)

                # The dashboard's API shows it to a coordinator, overdue.
                await dashboard_lists(second, ignored.thread_id, answered.thread_id)
            finally:
                await second.stop()
    finally:
        await first.stop()


async def dashboard_lists(service: TrackerService, overdue_id: str, answered_id: str) -> None:
    users = {"coord": User("coord", Role.COORDINATOR, hash_password("pw-coord"))}
    app = create_tracker_app(
        service.store,
        users,
        session_secret=b"s" * 32,
        clock=time.time,
        secure_cookie=False,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tracker"
    ) as web:
        assert (await web.get("/api/v1/unanswered")).status_code == 401
        listed = await web.get("/api/v1/unanswered", auth=("coord", "pw-coord"))
        assert listed.status_code == 200
        items = {item["thread_id"]: item for item in listed.json()["items"]}
        assert items[overdue_id]["overdue_seconds"] > 0
        assert answered_id not in items or not items[answered_id]["overdue_seconds"]


async def test_forged_header_is_refused_and_alerted_not_applied(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    service = tracker(keyed, tmp_path)
    await service.start()
    alerts: list[dict[str, Any]] = []
    try:
        envelope = bytearray(
            seal(
                emergency(),
                kind=MessageKind.REFERRAL,
                sender=keyed.keys[A],
                recipient=B,
                directory=keyed.trusted,
                now=int(time.time()),
                thread_id=(thread := new_thread_id()),
            )
        )
        at = envelope.index(b'"signature":"') + 20
        envelope[at] = ord("A") if envelope[at] != ord("A") else ord("B")
        await publish(
            keyed.federation.url(A),
            "caselink.messages",
            f"referral.{A}.{B}",
            user_id=keyed.federation.user(A),
            body=bytes(envelope),
        )

        async def refused() -> bool:
            await drain_alerts(keyed, alerts)
            return any(a["level"] == "refused" and a["agency"] == COORDINATOR for a in alerts)

        await eventually(refused, "the refusal alert")
        assert next(a for a in alerts if a["level"] == "refused")["detail"] == "bad_signature"
        assert await service.store.thread(thread) is None
    finally:
        await service.stop()
