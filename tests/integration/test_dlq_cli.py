"""`caselink dlq list|show|requeue|check` on a freshly applied federation, as its own user.

The operator's user and its grants are what `caselink topology apply` made (no guest): the
tool reads the dead-letter queue as `dlq-operator` and puts letters back as their sender.
"""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from broker.envelope import seal
from broker.topology.names import DEAD_LETTER_QUEUE, MESSAGES_EXCHANGE, routing_key
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)
from tests.integration.rabbit_federation import TIMEOUT_S

pytestmark = pytest.mark.rabbitmq

A, B, C = "oscc-north", "social-east", "police-west"
ESCAPE = "\x1b]0;pwned\x07\x1b[2J"


def config(keyed: KeyedFederation, folder: Path, url: str | None = None, **extra: Any) -> Path:
    """The tool's settings in `folder`: the operator's URL and the federation's directory."""
    folder.mkdir(exist_ok=True)
    keyed.write_directory_files(folder)
    path = folder / "dlq.toml"
    lines = [
        f'amqp_url = "{url or keyed.federation.operator_url()}"',
        'directory = "directory.json"',
        'root_pub = "root.pub.json"',
        *(f"{key} = {value}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def dlq(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "dlq", *args, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The failure's stderr: exactly one line, never a traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def referral(keyed: KeyedFederation, message_id: str) -> bytes:
    return seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=keyed.keys[A],
        recipient=B,
        directory=keyed.trusted,
        now=int(time.time()),
        thread_id=new_thread_id(),
        message_id=message_id,
    )


def tampered(envelope: bytes) -> bytes:
    raw = bytearray(envelope)
    at = raw.index(b'"ciphertext":"') + 50
    raw[at] = ord("A") if raw[at] != ord("A") else ord("B")
    return bytes(raw)


async def refused_by_b(keyed: KeyedFederation, body: bytes, headers: dict[str, Any]) -> None:
    """A publishes `body` to B as itself; B rejects it without requeue, as B's gateway does
    with an envelope it refuses, and RabbitMQ dead-letters it."""
    fed = keyed.federation
    async with await connect(fed.url(A)) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(MESSAGES_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                body,
                user_id=fed.user(A),
                message_id=new_message_id(),  # the publisher's choice: never listed under it
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=headers,
            ),
            routing_key(MessageKind.REFERRAL, A, B),
        )
    async with await connect(fed.url(B)) as connection:
        queue = await (await connection.channel()).get_queue(fed.topology.agency_queue(B))
        message = await queue.get(no_ack=False, timeout=TIMEOUT_S)
        assert message is not None
        await message.reject(requeue=False)


async def depth(keyed: KeyedFederation, queue: str) -> int:
    async with await connect(keyed.federation.admin_url()) as connection:
        declared = await (await connection.channel()).declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=TIMEOUT_S)


async def test_letters_are_listed_by_signed_id_and_put_back_where_they_died(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    path = config(keyed, tmp_path / "operator")
    real_id, forged_id = new_message_id(), new_message_id()
    # A publisher's own x-death and x-first-death-* entries claim another queue.
    forged_death = {
        "x-death": [{"queue": f"agency.{C}", "reason": "rejected", "count": 1}],
        "x-first-death-queue": f"agency.{C}",
        "x-note": ESCAPE,
    }
    real_body = referral(keyed, real_id)
    await refused_by_b(keyed, real_body, forged_death)
    # A second letter claims the same message id, without a valid signature.
    await refused_by_b(keyed, tampered(referral(keyed, real_id)), {})
    await refused_by_b(keyed, tampered(referral(keyed, forged_id)), {})

    listed = dlq(path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines()]
    [real] = [letter for letter in letters if letter["signature"] == "valid"]
    assert (real["message_id"], real["queue"], real["reason"]) == (
        real_id,
        keyed.federation.topology.agency_queue(B),
        "rejected",
    )
    assert real["published_by"] == keyed.federation.user(A)
    assert real["headers"]["x-note"] == "\\x1b]0;pwned\\x07\\x1b[2J"
    assert sorted(letter["signature"] for letter in letters) == [
        "bad_signature",
        "bad_signature",
        "valid",
    ]
    table = dlq(path, "list")
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout + table.stderr
    assert real_id in table.stdout
    assert "3 of 10000 dead letters" in table.stderr

    shown = dlq(path, "show", real_id)  # the forged letter with the same id is not shown
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["sha256"] == real["sha256"]
    assert "\x1b" not in shown.stdout
    assert "matched no dead letter" in one_line(dlq(path, "requeue", forged_id))

    # Without the impersonator tag RabbitMQ refuses the original user_id: one line, and
    # the letter stays where it was.
    operator = keyed.federation.topology.operator_user()
    rabbitmqctl("set_user_tags", operator)
    try:
        assert "impersonator" in one_line(dlq(path, "requeue", real_id))
    finally:
        rabbitmqctl("set_user_tags", operator, "impersonator")
    assert await depth(keyed, DEAD_LETTER_QUEUE) == 3

    requeued = dlq(path, "requeue", "--all")  # every verified, unexpired letter: one
    assert requeued.returncode == 0, requeued.stderr
    assert "1 dead letters requeued" in requeued.stderr
    # Back in B's queue, and only there, byte for byte, as A: user_id and x-death kept.
    fed = keyed.federation
    async with await connect(fed.url(B)) as connection:
        queue = await (await connection.channel()).get_queue(fed.topology.agency_queue(B))
        back = await queue.get(no_ack=False, timeout=TIMEOUT_S)
        assert back is not None
        assert (back.body, back.user_id) == (real_body, fed.user(A))
        assert back.headers["x-death"][0]["queue"] == fed.topology.agency_queue(B)  # type: ignore[index,call-overload]
        await back.nack(requeue=True)
    async with running(make_gateway(keyed, B, tmp_path)) as gateway_b:

        async def arrived() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 1

        await eventually(arrived, "the requeued referral at B")
        [stored] = await gateway_b.store.inbox(kind="referral")
        assert stored.message_id == real_id
    assert await depth(keyed, keyed.federation.topology.agency_queue(C)) == 0
    remaining = dlq(path, "list", "--json")
    assert {json.loads(line)["signature"] for line in remaining.stdout.splitlines()} == {
        "bad_signature"
    }
    digest = json.loads(remaining.stdout.splitlines()[0])["sha256"]
    # A letter whose header does not verify is named by its digest alone.
    assert dlq(path, "show", digest).returncode == 0


async def test_expected_errors_are_one_line_and_a_non_zero_exit(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    fed = keyed.federation
    path = config(keyed, tmp_path / "operator")
    checked = dlq(path, "check")
    assert (checked.returncode, checked.stdout.strip()) == (0, "0 of 10000 dead letters (0%)")
    assert "empty" in one_line(dlq(path, "show", new_message_id()))
    assert "empty" in one_line(dlq(path, "requeue", "--all"))

    as_agency = config(keyed, tmp_path / "agency", url=fed.url(A))
    refused = one_line(dlq(as_agency, "list"))
    assert "ACCESS_REFUSED" in refused
    assert DEAD_LETTER_QUEUE in refused

    wrong_password = fed.operator_url().replace("@127.0.0.1", "x@127.0.0.1")
    wrong = one_line(dlq(config(keyed, tmp_path / "password", url=wrong_password), "list"))
    assert "refused the login" in wrong
    assert fed.passwords[fed.topology.operator_user()] not in wrong
    no_vhost = fed.operator_url().rsplit("/", 1)[0] + "/no-such-vhost"
    assert "vhost" in one_line(dlq(config(keyed, tmp_path / "vhost", url=no_vhost), "list"))

    await refused_by_b(keyed, referral(keyed, new_message_id()), {})
    near_full = dlq(config(keyed, tmp_path / "small", max_length=1), "check")
    assert near_full.returncode == 4
    assert "near full" in near_full.stdout
