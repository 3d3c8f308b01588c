"""Re-applying the topology converges, or says what it cannot change, on the real broker.

Each test gets a federation of its own (vhost and users), deleted afterwards.
"""

import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiormq.exceptions import ProbableAuthenticationError

from broker.keystore import replace_private
from broker.operator.apply import apply_definitions, delete_topology, export_live
from broker.topology.definitions import TopologyError, agency_permission
from broker.topology.names import DELIVERY_LIMIT, MESSAGES_EXCHANGE
from tests.integration.amqp_helpers import connect
from tests.integration.rabbit_federation import (
    TIMEOUT_S,
    Federation,
    applied_federation,
    definitions_for,
    make_keys,
    unique_topology,
)

pytestmark = pytest.mark.rabbitmq

A, B = "oscc-north", "social-east"


@pytest.fixture
def fed(tmp_path: Path) -> Iterator[Federation]:
    with applied_federation(tmp_path / "passwords.json", [A, B]) as federation:
        yield federation


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=TIMEOUT_S)


def live_permission(fed: Federation, user: str) -> dict[str, str]:
    [entry] = [
        p
        for p in export_live()["permissions"]
        if p["user"] == user and p["vhost"] == fed.topology.vhost
    ]
    return {field: entry[field] for field in ("configure", "write", "read")}


def test_applying_twice_is_fine(fed: Federation) -> None:
    apply_definitions(fed.definitions)
    _, fresh = definitions_for(fed.topology, fed.directory, fed.secrets)
    apply_definitions(fresh)  # new salts, same passwords: converges as well


async def test_a_changed_password_follows_the_secrets_file(fed: Federation) -> None:
    user = fed.user(A)
    stored = json.loads(fed.secrets.read_bytes())
    stored[user] = "a-new-password-for-this-test-only"
    replace_private(fed.secrets, json.dumps(stored).encode())
    old_url = fed.url(A)
    passwords, definitions = definitions_for(fed.topology, fed.directory, fed.secrets)
    apply_definitions(definitions)

    with pytest.raises(ProbableAuthenticationError):
        await connect(old_url)
    changed = Federation(fed.topology, fed.directory, fed.secrets, passwords, definitions)
    async with await connect(changed.url(A)):
        pass


def test_hand_edited_permissions_are_put_back(fed: Federation) -> None:
    user = fed.user(A)
    vhost = fed.topology.vhost
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    rabbitmqctl("set_topic_permissions", "-p", vhost, user, MESSAGES_EXCHANGE, ".*", ".*")
    apply_definitions(fed.definitions)
    expected = agency_permission(fed.topology, A)
    assert live_permission(fed, user) == {
        "configure": expected.configure,
        "write": expected.write,
        "read": expected.read,
    }


def test_a_removed_impersonator_tag_is_put_back(fed: Federation) -> None:
    operator = fed.topology.operator_user()
    rabbitmqctl("set_user_tags", operator)
    apply_definitions(fed.definitions)
    [user] = [u for u in export_live()["users"] if u["name"] == operator]
    assert user["tags"] == ["impersonator"]


def test_changed_queue_arguments_are_reported_not_applied(fed: Federation) -> None:
    changed = copy.deepcopy(fed.definitions)
    queue = fed.topology.agency_queue(A)
    [entry] = [q for q in changed["queues"] if q["name"] == queue]
    entry["arguments"]["x-delivery-limit"] = DELIVERY_LIMIT + 1
    drift = f"queues {fed.topology.vhost}/{queue} has another arguments"
    with pytest.raises(TopologyError, match=drift):
        apply_definitions(changed)


def test_an_extra_binding_is_reported(fed: Federation) -> None:
    # Someone with admin rights binds B's queue to every key: B would read all messages.
    stray = {
        "source": MESSAGES_EXCHANGE,
        "vhost": fed.topology.vhost,
        "destination": fed.topology.agency_queue(B),
        "destination_type": "queue",
        "routing_key": "#",
        "arguments": {},
    }
    apply_definitions({**fed.definitions, "bindings": [*fed.definitions["bindings"], stray]})
    drift = f"unexpected binding {MESSAGES_EXCHANGE} -> {fed.topology.agency_queue(B)}"
    with pytest.raises(TopologyError, match=re.escape(drift)):
        apply_definitions(fed.definitions)


def test_cli_apply_from_directory_then_from_exported_file(tmp_path: Path) -> None:
    topology = unique_topology()
    root, _, signed = make_keys([A, B])
    root_public = root.public()
    (tmp_path / "dir.json").write_bytes(signed)
    (tmp_path / "root.pub.json").write_bytes(root_public.to_bytes())
    out = tmp_path / "definitions.json"
    common: list[str | Path] = [
        "--directory",
        tmp_path / "dir.json",
        "--root-pub",
        tmp_path / "root.pub.json",
        "--secrets",
        tmp_path / "pw.json",
        "--vhost",
        topology.vhost,
        "--user-prefix",
        topology.user_prefix,
    ]
    try:
        applied = caselink("topology", "apply", *common)
        assert applied.returncode == 0, applied.stderr
        assert "node matches" in applied.stderr
        exported = caselink("topology", "export", *common, "--out", out)
        assert exported.returncode == 0, exported.stderr
        again = caselink("topology", "apply", out)
        assert again.returncode == 0, again.stderr
        users = {user["name"]: user for user in export_live()["users"]}
        assert {
            topology.agency_user(A),
            topology.agency_user(B),
            topology.tracker_user(),
            topology.operator_user(),
        } <= set(users)
        # `caselink dlq requeue` keeps the original sender's user_id: impersonation, for
        # this one user alone.
        assert users[topology.operator_user()]["tags"] == ["impersonator"]
        assert users[topology.agency_user(A)]["tags"] == []
    finally:
        delete_topology(topology, [A, B])


def caselink(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
