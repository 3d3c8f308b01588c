"""`caselink tracker overdue` lists what is late, from the tracker's own store."""

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broker.people.passwords import hash_password, verify_password
from broker.store.tracker_store import SqlTrackerStore
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.policy import DEFAULT_POLICY
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind, Urgency


def seed(db: Path, *, late_thread: str, fresh_thread: str) -> None:
    now = int(time.time())

    def referral(thread: str, issued_at: int) -> TrackedEvent:
        return TrackedEvent(
            message_id=new_message_id(),
            thread_id=thread,
            kind=MessageKind.REFERRAL,
            sender="oscc-north",
            recipient="social-east",
            issued_at=issued_at,
            urgency=Urgency.EMERGENCY,
        )

    async def write() -> None:
        store = SqlTrackerStore(f"sqlite+aiosqlite:///{db}")
        await store.create()
        ledger = TrackerLedger(store, DEFAULT_POLICY, ["police-west"])
        await ledger.ingest([referral(late_thread, now - 7200), referral(fresh_thread, now)], now)
        await store.close()

    asyncio.run(write())


def overdue_command(tmp_path: Path) -> list[str]:
    config = tmp_path / "tracker.toml"
    config.write_text(
        'amqp_url = "amqp://unused@127.0.0.1/caselink"\n'
        'directory = "directory.json"\nroot_pub = "root.pub.json"\n'
        f'store_url = "sqlite+aiosqlite:///{tmp_path / "tracker.db"}"\n'
        'coordinators = ["police-west"]\nusers_file = "users.toml"\n'
        'session_secret_file = "secret"\n'
    )
    return [sys.executable, "-m", "broker.cli", "tracker", "overdue", "--config", str(config)]


def test_overdue_lists_only_late_threads_as_json_and_table(tmp_path: Path) -> None:
    late, fresh = new_thread_id(), new_thread_id()
    seed(tmp_path / "tracker.db", late_thread=late, fresh_thread=fresh)
    command = overdue_command(tmp_path)
    as_json = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    [row] = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert row["thread_id"] == late
    assert row["overdue_seconds"] > 3600
    assert (row["kind"], row["sender"], row["recipients"]) == (
        "referral",
        "oscc-north",
        ["social-east"],
    )
    table = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0
    assert late[:8] in table.stdout
    assert fresh[:8] not in table.stdout


def test_overdue_without_config_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "broker.cli", "tracker", "overdue"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2


def test_overdue_reads_only_a_store_without_schema_is_an_error(tmp_path: Path) -> None:
    # A mistyped store_url must not come back as "0 overdue" over a fresh, empty database.
    result = subprocess.run(overdue_command(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "0 overdue" not in result.stderr


def _hash_password(stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "tracker", "hash-password", "--stdin"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hash_password_reads_the_first_line_of_stdin() -> None:
    result = _hash_password("a trial password\nignored\n")
    assert result.returncode == 0, result.stderr
    stored = result.stdout.strip()
    assert verify_password("a trial password", stored)
    assert "a trial password" not in result.stdout + result.stderr


def test_hash_password_without_a_password_on_stdin_exits_2() -> None:
    result = _hash_password("")
    assert result.returncode == 2
    assert result.stdout == ""


def test_a_tracker_database_others_may_read_is_refused_in_one_line(tmp_path: Path) -> None:
    seed(tmp_path / "tracker.db", late_thread=new_thread_id(), fresh_thread=new_thread_id())
    (tmp_path / "tracker.db").chmod(0o644)
    result = subprocess.run(overdue_command(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        f"caselink: database_file_permissions: {tmp_path / 'tracker.db'} has mode 644;"
        " it must be 0600 (others may read case data)\n"
    )


def _start_command(tmp_path: Path, *, users_mode: int, secret_mode: int) -> list[str]:
    """`caselink tracker --config` over users and secret files of these modes (no directory
    files: secret files are checked before anything else is read or started)."""
    users = tmp_path / "users.toml"
    users.write_text(
        f'[[users]]\nname = "coord"\nrole = "coordinator"\n'
        f'password_hash = "{hash_password("synthetic", n=256)}"\n'
    )
    users.chmod(users_mode)
    secret = tmp_path / "secret"
    secret.write_bytes(b"s" * 43 + b"\n")
    secret.chmod(secret_mode)
    command = overdue_command(tmp_path)
    return command[:4] + command[5:]  # without `overdue`


@pytest.mark.parametrize(
    ("users_mode", "secret_mode", "refused"),
    [(0o644, 0o600, "users.toml has mode 644"), (0o600, 0o640, "secret has mode 640")],
)
def test_the_tracker_refuses_secret_files_others_can_read(
    tmp_path: Path, users_mode: int, secret_mode: int, refused: str
) -> None:
    command = _start_command(tmp_path, users_mode=users_mode, secret_mode=secret_mode)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.endswith(f"{refused}; it must be 0600\n")
    assert len(result.stderr.splitlines()) == 1  # one typed line, no traceback
    assert result.stderr.startswith("caselink: key_file_permissions: ")


def test_the_tracker_refuses_a_readable_config_holding_a_password(tmp_path: Path) -> None:
    command = overdue_command(tmp_path)
    config = Path(command[-1])
    config.write_text(config.read_text().replace("amqp://unused@", "amqp://tracker:s3cret@"))
    config.chmod(0o644)
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1
    assert "tracker.toml has mode 644; it must be 0600" in result.stderr
    assert "s3cret" not in result.stderr
