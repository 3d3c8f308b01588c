"""What an operator sees when RabbitMQ refuses a gateway or goes away, on the real broker.

A refused publish (no write permission) is reported as refused on /healthz until a publish
is confirmed again; an outage (a TCP proxy in front of RabbitMQ, cut and restored: the
node itself is never stopped) costs a few log lines, and delivery resumes within seconds
of the broker's return; a gateway process pointed at a closed port writes a bounded number
of lines to stderr and no traceback.
"""

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from broker.gateway.api import create_api
from broker.gateway.service import Gateway
from broker.keystore import write_private
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.consents import wide_consent
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    gateway_config,
    make_gateway,
    running,
)
from tests.integration.rabbit_federation import TIMEOUT_S, Federation
from tests.integration.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.rabbitmq

A, B = "oscc-north", "social-east"
METRICS_TOKEN = "metrics-token-for-the-test-only"
REFERRAL = MessageKind.REFERRAL


def _set_write(federation: Federation, agency_id: str, write: str | None) -> None:
    """Set the agency user's write permission (None: as the definitions grant it)."""
    [granted] = [
        p for p in federation.definitions["permissions"] if p["user"] == federation.user(agency_id)
    ]
    subprocess.run(
        [
            "rabbitmqctl",
            "set_permissions",
            "-p",
            federation.topology.vhost,
            granted["user"],
            granted["configure"],
            granted["write"] if write is None else write,
            granted["read"],
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT_S,
    )


async def _received(gateway: Gateway, count: int) -> bool:
    return len(await gateway.store.inbox(kind="referral", limit=count + 10)) >= count


async def test_a_refused_publish_shows_on_healthz_until_a_publish_succeeds(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    sender = make_gateway(keyed, A, tmp_path)
    app = create_api(sender, make_users(), manage_lifecycle=False, metrics_token=METRICS_TOKEN)
    async with (
        running(sender),
        running(make_gateway(keyed, B, tmp_path)) as recipient,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as api,
    ):
        assert (await api.get("/healthz")).json()["status"] == "ok"
        _set_write(keyed.federation, A, "^$")  # A's user may no longer publish
        try:
            with capture_logs() as lines:
                entry = await sender.submit(example_body(REFERRAL), kind=REFERRAL, recipient=B)

                async def refused() -> bool:
                    response = await api.get("/healthz")
                    error = response.json()["last_publish_error"]
                    return (
                        response.status_code == 503 and error is not None and error["failures"] >= 2
                    )

                await eventually(refused, "/healthz reporting the refusal")
                health = (await api.get("/healthz")).json()
        finally:
            _set_write(keyed.federation, A, None)
        assert health["status"] == "degraded"
        assert health["consumer_alive"] is True
        assert health["outbox_pending"] == 1
        assert health["last_publish_error"]["reason"] == "publish_refused"
        assert health["last_publish_error"]["code"] == 403
        refusals = [line for line in lines if line.get("reason") == "publish_refused"]
        # One line, at error, with ids only; not one per retry, and not "unavailable".
        assert [line["event"] for line in refusals] == [
            "publish refused by the broker; outbox paused"
        ]
        assert refusals[0]["log_level"] == "error"
        assert refusals[0]["message_id"] == entry.message_id
        assert not any(line.get("reason") == "broker_unavailable" for line in lines)

        async def clean() -> bool:
            response = await api.get("/healthz")
            return response.status_code == 200 and response.json()["last_publish_error"] is None

        await eventually(clean, "/healthz clean once the permission is back", timeout_s=15)
        await eventually(lambda: _received(recipient, 1), "the referral at B")
        metrics = await api.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert _sample(metrics.text, 'caselink_gateway_publishes_total{outcome="refused"}') >= 2
    assert _sample(metrics.text, 'caselink_gateway_publishes_total{outcome="ok"}') >= 1


def _sample(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found is not None, name
    return float(found.group(1))


OUTAGE_S = 20.0  # long enough for an uncapped backoff to reach pauses of 8 to 16 s
RESUMED_WITHIN_S = 7.5  # the capped pause (5 s at most), a scan, a round trip, CI slack


@pytest.mark.slow
async def test_an_outage_costs_a_few_lines_and_delivery_resumes_within_seconds(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    body = example_body(REFERRAL)
    async with tcp_proxy() as proxy:
        via_proxy = keyed.federation.url(A).replace("@127.0.0.1/", f"@127.0.0.1:{proxy.port}/")
        async with (
            running(make_gateway(keyed, A, tmp_path, amqp_url=via_proxy)) as sender,
            running(make_gateway(keyed, B, tmp_path)) as recipient,
        ):
            await sender.submit(body, kind=REFERRAL, recipient=B)
            await eventually(lambda: _received(recipient, 1), "the first referral at B")
            with capture_logs() as lines:
                await proxy.cut()
                outage_began = time.monotonic()
                for _ in range(20):
                    await sender.submit(body, kind=REFERRAL, recipient=B)
                await asyncio.sleep(OUTAGE_S - (time.monotonic() - outage_began))
                failing = sender.relay.failing
                await proxy.open()
                restored = time.monotonic()
                await eventually(
                    lambda: _received(recipient, 21), "all referrals at B", timeout_s=60
                )
                resumed_after = time.monotonic() - restored
            assert failing is not None
            assert failing.reason == "broker_unavailable"
            assert failing.count >= 3  # it kept trying all along
    problems = [line for line in lines if line["log_level"] in ("warning", "error")]
    # The relay's first failure and the watchdog's: a line each, whatever the attempts.
    assert len(problems) <= 4, _events(problems)
    assert {line["event"] for line in problems} >= {
        "broker unavailable; outbox paused",
        "consumer not subscribed; will retry",
    }
    assert not any("exc_info" in line for line in lines)
    assert resumed_after < RESUMED_WITHIN_S, f"delivery resumed {resumed_after:.1f} s after"


def _events(lines: list[dict[str, Any]]) -> list[str]:
    return [f"{line['event']} ({line.get('reason')})" for line in lines]


WATCH_S = 6.0


async def test_a_gateway_without_its_broker_writes_a_few_lines_and_no_traceback(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    # The process is driven from a thread: its waits are blocking ones.
    await asyncio.to_thread(_without_broker, keyed, tmp_path)


def _without_broker(keyed: KeyedFederation, tmp_path: Path) -> None:
    port = free_port()
    config = gateway_config(keyed, A, tmp_path / "gateway", port)
    closed = free_port()  # nothing listens there: every connection is refused
    text = re.sub(
        r'amqp_url = ".*"',
        f'amqp_url = "amqp://nobody:nothing@127.0.0.1:{closed}/"',
        config.read_text(),
    )
    config.write_text(text + 'watchdog_interval_s = 0.2\nmetrics_token_file = "metrics-token"\n')
    write_private(config.parent / "metrics-token", METRICS_TOKEN.encode())
    stderr = tmp_path / "stderr.log"
    with stderr.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "broker.cli", "gateway", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            health = _wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
            assert health.status_code == 503
            assert health.json()["status"] == "consumer_down"
            recorded = httpx.post(
                f"http://127.0.0.1:{port}/v1/consents/records",
                headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"},
                json=wide_consent().model_dump(mode="json"),
                timeout=10,
            )
            assert recorded.status_code == 201, recorded.text
            response = httpx.post(
                f"http://127.0.0.1:{port}/v1/referrals",
                headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"},
                json={"recipient": B, "body": example_body(REFERRAL).model_dump(mode="json")},
                timeout=10,
            )
            assert response.status_code == 202, response.text
            time.sleep(WATCH_S)  # about 30 subscription attempts, several publish attempts
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
            metrics = httpx.get(
                f"http://127.0.0.1:{port}/metrics",
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                timeout=5,
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert health["last_publish_error"]["reason"] == "broker_unavailable"
    assert health["last_publish_error"]["failures"] >= 3
    assert _sample(metrics.text, "caselink_gateway_consumer_subscribed") == 0
    assert _sample(metrics.text, "caselink_gateway_outbox_pending") == 1
    written = stderr.read_text()
    # The consent recorded before the referral says so once; it is not about the outage.
    lines = [line for line in written.splitlines() if '"consent recorded"' not in line]
    assert "Traceback" not in written
    # gateway started, the watchdog's first failure, the relay's first failure, gateway
    # stopped: no line per attempt, from Caselink or from aiormq.
    assert len(lines) <= 5, written


def _wait_for_http(url: str, process: "subprocess.Popen[bytes]") -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the gateway exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")
