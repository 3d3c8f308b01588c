"""`caselink gateway add-user` and `remove-user`: a 0600 users file the gateway can read."""

import stat
import subprocess
import sys
from pathlib import Path

from broker.gateway.users import Role, load_users
from broker.people.passwords import verify_password
from broker.people.tokens import token_hash

PASSWORD = "a-long-trial-password"  # a test value, not a secret


def caselink(*args: str | Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "gateway", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def add(users: Path, name: str, role: str, *extra: str, stdin: str = PASSWORD + "\n") -> str:
    result = caselink(
        "add-user", "--users", users, "--name", name, "--role", role, *extra, stdin=stdin
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_people_and_systems_are_added_to_a_0600_file_holding_hashes_only(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    assert add(users, "ana", "caseworker", "--display-name", "Ana Lopes") == ""
    token = add(users, "case-system", "system", "--token", stdin="").strip()
    add(users, "sam", "supervisor", "--language", "th", "--time-zone", "Asia/Bangkok")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    text = users.read_text()
    assert PASSWORD not in text
    assert token not in text
    loaded = load_users(users)
    assert [(u.name, u.role) for u in loaded.values()] == [
        ("ana", Role.CASEWORKER),
        ("case-system", Role.SYSTEM),
        ("sam", Role.SUPERVISOR),
    ]
    ana = loaded["ana"]
    assert ana.password_hash is not None
    assert verify_password(PASSWORD, ana.password_hash)
    assert ana.worker.name == "Ana Lopes"
    assert (ana.language, ana.time_zone) == ("en", "UTC")
    assert (loaded["sam"].language, loaded["sam"].time_zone) == ("th", "Asia/Bangkok")
    assert loaded["case-system"].token_hash == token_hash(token)
    assert token.startswith("clk_")


def test_comments_in_the_file_are_kept(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add(users, "ana", "caseworker")
    users.write_text("# Kept by hand: who is on duty\n" + users.read_text())
    add(users, "bo", "caseworker")
    assert users.read_text().startswith("# Kept by hand: who is on duty\n")
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


def test_refusals_are_one_line_and_leave_the_file_as_it_was(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add(users, "ana", "caseworker")
    before = users.read_text()
    refusals = [
        ("add-user", "--users", users, "--name", "ana", "--role", "caseworker"),  # taken
        ("add-user", "--users", users, "--name", "bo x", "--role", "caseworker"),  # bad name
        ("add-user", "--users", users, "--name", "bo", "--role", "system"),  # no --token
        ("add-user", "--users", users, "--name", "bo", "--role", "caseworker", "--token"),
        ("add-user", "--users", users, "--name", "bo", "--role", "caseworker", "--phone", "x"),
        ("add-user", "--users", users, "--name", "bo", "--role", "caseworker", "--language", "xx"),
        (
            "add-user",
            "--users",
            users,
            "--name",
            "bo",
            "--role",
            "caseworker",
            "--time-zone",
            "Mars/Base",
        ),
        ("remove-user", "--users", users, "--name", "nobody"),
        ("remove-user", "--users", users, "--name", "ana"),  # the last one
    ]
    for args in refusals:
        result = caselink(*args, stdin=PASSWORD + "\n")
        assert result.returncode == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert PASSWORD not in result.stderr
    short = caselink(
        "add-user", "--users", users, "--name", "bo", "--role", "caseworker", stdin="short\n"
    )
    assert short.returncode == 2
    assert "12 characters" in short.stderr
    assert users.read_text() == before


def test_a_users_file_others_can_read_is_refused(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add(users, "ana", "caseworker")
    users.chmod(0o644)
    result = caselink(
        "add-user", "--users", users, "--name", "bo", "--role", "caseworker", stdin=PASSWORD
    )
    assert result.returncode == 2
    assert "0600" in result.stderr


def test_remove_user_takes_the_user_and_its_token_away(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    add(users, "ana", "caseworker")
    token = add(users, "case-system", "system", "--token", stdin="").strip()
    removed = caselink("remove-user", "--users", users, "--name", "case-system")
    assert removed.returncode == 0, removed.stderr
    assert list(load_users(users)) == ["ana"]
    assert token_hash(token) not in users.read_text()
    assert stat.S_IMODE(users.stat().st_mode) == 0o600


def test_running_the_gateway_still_needs_config() -> None:
    result = caselink()
    assert result.returncode == 2
    assert "--config" in result.stderr
