"""/healthz and /metrics of the gateway's API, two gateways on the in-memory broker.

/healthz says what is wrong (a refused publish is not "broker unavailable") and forgets it
once a publish is confirmed again; /metrics answers to the metrics token alone.
"""

import contextlib
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from broker.gateway.api import create_api
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.service import Gateway
from broker.testing import InMemoryPublisher
from schemas.examples import example_body
from schemas.ids import new_message_id
from schemas.kinds import MessageKind
from tests.consents import grant_example_consent
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.memory_federation import MemoryFederation, memory_federation
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
API_TOKEN = SYSTEM_TOKEN  # the agency system's API token
METRICS_TOKEN = "metrics-token-for-tests-only"


def gateway(fed: MemoryFederation, agency: str) -> Gateway:
    topology = fed.topology
    return Gateway(
        keys=fed.keys[agency],
        directory=fed.trusted,
        store=MemoryGatewayStore(),
        publisher=InMemoryPublisher(fed.broker, user=topology.agency_user(agency)),
        subscription=fed.subscription(topology.agency_queue(agency)),
        topology=topology,
        watchdog_interval_s=0.05,
    )


@contextlib.asynccontextmanager
async def api(
    served: Gateway, *, metrics_token: str | None = METRICS_TOKEN
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(served, make_users(), manage_lifecycle=False, metrics_token=metrics_token)
    await served.start()
    await grant_example_consent(served)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway"
        ) as client:
            yield client
    finally:
        await served.stop()


def metric(text: str, sample: str) -> float:
    found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
    assert found is not None, f"{sample} not in /metrics"
    return float(found.group(1))


async def test_a_refused_publish_shows_on_healthz_until_a_publish_is_confirmed() -> None:
    fed = memory_federation()
    sender = gateway(fed, A)
    async with api(sender) as client:
        await eventually(lambda: _status_is(client, 200), "healthz 200", timeout_s=10.0)
        # The broker refuses A's login from now on: a permission problem, not an outage.
        fed.broker.users.discard(fed.topology.agency_user(A))
        await sender.submit(
            example_body(MessageKind.REFERRAL), kind=MessageKind.REFERRAL, recipient=B
        )
        await eventually(lambda: _status_is(client, 503), "healthz 503", timeout_s=10.0)
        health = (await client.get("/healthz")).json()
        assert health["status"] == "degraded"
        assert health["consumer_alive"] is True
        assert health["outbox_pending"] == 1
        error = health["last_publish_error"]
        assert (error["reason"], error["code"]) == ("publish_refused", 403)
        assert error["failures"] >= 1
        assert error["since"] <= time.time()

        fed.broker.add_user(fed.topology.agency_user(A))  # the operator grants it again
        await eventually(lambda: _status_is(client, 200), "healthz 200", timeout_s=10.0)
        assert (await client.get("/healthz")).json() == {
            "status": "ok",
            "consumer_alive": True,
            "outbox_pending": 0,
            "last_publish_error": None,
        }
        text = (await client.get("/metrics", headers=_bearer(METRICS_TOKEN))).text
    assert metric(text, 'caselink_gateway_publishes_total{outcome="ok"}') == 1
    assert metric(text, 'caselink_gateway_publishes_total{outcome="refused"}') >= 1
    assert metric(text, 'caselink_gateway_publishes_total{outcome="failed"}') == 0


async def _status_is(client: httpx.AsyncClient, code: int) -> bool:
    return (await client.get("/healthz")).status_code == code


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_metrics_count_deliveries_refusals_outbox_and_consumer() -> None:
    fed = memory_federation()
    sender, recipient = gateway(fed, A), gateway(fed, B)
    async with api(sender), api(recipient) as client:
        await sender.submit(
            example_body(MessageKind.REFERRAL), kind=MessageKind.REFERRAL, recipient=B
        )
        # A's own envelope, replayed: stored once, the second a duplicate.
        replayed = fed.seal(A, B)
        replay_id = new_message_id()
        await fed.send(A, B, replayed, replay_id)
        await fed.send(A, B, replayed, replay_id)
        await fed.send(A, B, b"not an envelope", new_message_id())

        async def counted() -> bool:
            text = (await client.get("/metrics", headers=_bearer(METRICS_TOKEN))).text
            return metric(text, 'caselink_gateway_deliveries_total{outcome="refused"}') == 1

        await eventually(counted, "the deliveries counted", timeout_s=10.0)
        response = await client.get("/metrics", headers=_bearer(METRICS_TOKEN))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert metric(text, 'caselink_gateway_deliveries_total{outcome="stored"}') == 2
    assert metric(text, 'caselink_gateway_deliveries_total{outcome="duplicate"}') == 1
    assert metric(text, 'caselink_gateway_deliveries_total{outcome="requeued"}') == 0
    assert metric(text, 'caselink_gateway_refusals_total{reason="malformed_envelope"}') == 1
    # B answered both referrals with a `received` acknowledgement through its outbox.
    assert metric(text, 'caselink_gateway_publishes_total{outcome="ok"}') == 2
    assert metric(text, "caselink_gateway_outbox_pending") == 0
    assert metric(text, "caselink_gateway_consumer_subscribed") == 1
    # Counts only: no agency, message or thread id in the whole text.
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)
    assert A not in text
    assert B not in text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        _bearer(API_TOKEN),  # the agency's API credential is not the metrics token
        _bearer(METRICS_TOKEN + "x"),
        {"Authorization": "Bearer mé".encode("latin-1")},  # refused, not a server error
        {"Authorization": f"Basic {METRICS_TOKEN}"},
    ],
)
async def test_metrics_take_the_metrics_token_only(headers: dict[str, str | bytes]) -> None:
    async with api(gateway(memory_federation(), A)) as client:
        response = await client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "caselink_" not in response.text


async def test_metrics_are_not_served_without_a_metrics_token() -> None:
    async with api(gateway(memory_federation(), A), metrics_token=None) as client:
        response = await client.get("/metrics", headers=_bearer(API_TOKEN))
    assert response.status_code == 404


async def test_two_gateways_in_one_process_keep_their_own_counts() -> None:
    fed = memory_federation()
    first, second = gateway(fed, A), gateway(fed, B)
    first.metrics.counts.published += 5
    text = (await second.metrics_text()).decode()
    assert metric(text, 'caselink_gateway_publishes_total{outcome="ok"}') == 0
