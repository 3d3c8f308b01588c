"""`caselink dlq list|show|requeue` against the real dead-letter queue."""

import json
import subprocess
import sys
import time
from pathlib import Path

import aio_pika
import pytest

from broker.envelope import seal
from broker.topology.names import DEAD_LETTER_EXCHANGE, REFUSAL_HEADER
from schemas.examples import example_body
from schemas.ids import new_thread_id
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B = "oscc-north", "social-east"


def dlq(keyed: KeyedFederation, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "broker.cli",
            "dlq",
            *args,
            "--amqp-url",
            keyed.federation.admin_url(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_list_show_and_requeue_a_dead_letter(keyed: KeyedFederation, tmp_path: Path) -> None:
    envelope = seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=keyed.keys[A],
        recipient=B,
        directory=keyed.trusted,
        now=int(time.time()),
        thread_id=new_thread_id(),
    )
    # As if B's gateway had refused it while its directory was stale: a valid envelope with
    # a refusal header, waiting in the dead-letter queue for an operator.
    async with await connect(keyed.federation.admin_url()) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                envelope,
                message_id="dead-1",
                delivery_mode=2,
                headers={
                    REFUSAL_HEADER: "unknown_key",
                    "x-caselink-original-routing-key": f"referral.{A}.{B}",
                },
            ),
            routing_key=f"referral.{A}.{B}",
        )

    listed = dlq(keyed, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [letter] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (letter["message_id"], letter["reason"]) == ("dead-1", "unknown_key")
    assert letter["routing_key"] == f"referral.{A}.{B}"
    assert "ciphertext" not in listed.stdout

    shown = dlq(keyed, "show", "dead-1")
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["sha256"] == letter["sha256"]
    assert dlq(keyed, "show", "no-such-id").returncode == 2
    assert dlq(keyed, "requeue").returncode == 2

    async with running(make_gateway(keyed, B, tmp_path)) as gateway_b:
        requeued = dlq(keyed, "requeue", "dead-1")
        assert requeued.returncode == 0, requeued.stderr

        async def arrived() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 1

        await eventually(arrived, "the requeued referral at B")
    after = dlq(keyed, "list", "--json")
    assert after.stdout.strip() == ""
