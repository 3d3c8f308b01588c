"""The gateway's users file: roles, credentials by role, how answers name a user."""

from pathlib import Path
from typing import Any

import pytest

from broker.gateway.users import (
    PERMISSIONS,
    Permission,
    Role,
    UsersFileError,
    load_users,
    parse_users,
)
from broker.keystore import KeyFilePermissionError
from broker.people.tokens import new_token, token_hash
from tests.gateway_users import cheap_hash, entries, make_users

EXAMPLE = Path(__file__).parents[3] / "deploy" / "gateway" / "users.example.toml"


def test_roles_grant_what_the_issue_says() -> None:
    work = {Permission.SEND, Permission.READ, Permission.ANSWER, Permission.CONSENT}
    assert PERMISSIONS[Role.CASEWORKER] == work
    assert PERMISSIONS[Role.SYSTEM] == work
    assert PERMISSIONS[Role.SUPERVISOR] == work | {Permission.AUDIT}


def test_an_answer_names_the_user_by_display_name_and_job_title_or_defaults() -> None:
    users = make_users()
    assert (users["ana"].worker.name, users["ana"].worker.role) == (
        "Ana Lopes",
        "Duty social worker",
    )
    assert (users["sam"].worker.name, users["sam"].worker.role) == ("sam", "Supervisor")
    system = users["case-system"]
    assert (system.worker.name, system.worker.role) == ("case-system", "Agency system")
    assert system.password_hash is None
    assert system.token_hash is not None


def _refused(entry: dict[str, Any], match: str) -> None:
    with pytest.raises(UsersFileError, match=match) as refused:
        parse_users({"users": [entry]})
    for key in ("password_hash", "token_hash"):
        if key in entry:
            assert entry[key] not in str(refused.value)


PASSWORD_HASH = cheap_hash("a-password-123")
TOKEN_HASH = token_hash(new_token())


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"name": "bo", "role": "caseworker"}, "password_hash is required"),
        (
            {
                "name": "bo",
                "role": "caseworker",
                "password_hash": PASSWORD_HASH,
                "token_hash": TOKEN_HASH,
            },
            "not a token_hash",
        ),
        ({"name": "bot", "role": "system"}, "token_hash is required"),
        (
            {
                "name": "bot",
                "role": "system",
                "token_hash": TOKEN_HASH,
                "password_hash": PASSWORD_HASH,
            },
            "no password_hash",
        ),
        ({"name": "bot", "role": "system", "token_hash": "sha256$abc"}, "token_hash must look"),
        ({"name": "bo", "role": "caseworker", "password_hash": "plain"}, "password_hash must"),
        ({"name": "bo", "role": "admin", "password_hash": PASSWORD_HASH}, "role must be"),
        ({"name": "has space", "role": "caseworker", "password_hash": PASSWORD_HASH}, "name must"),
        ({"name": "bo:x", "role": "caseworker", "password_hash": PASSWORD_HASH}, "name must"),
        (
            {"name": "bo", "role": "caseworker", "password_hash": PASSWORD_HASH, "agency": "x"},
            "unknown key 'agency'",
        ),
        (
            {
                "name": "bo",
                "role": "caseworker",
                "password_hash": PASSWORD_HASH,
                "phone": "call me",
            },
            "invalid phone",
        ),
        (
            {"name": "bo", "role": "caseworker", "password_hash": PASSWORD_HASH, "job_title": ""},
            "invalid job_title",
        ),
    ],
)
def test_an_invalid_entry_is_refused_naming_it(entry: dict[str, Any], match: str) -> None:
    _refused(entry, match)


def test_names_and_tokens_are_unique() -> None:
    twice = [*entries(), entries()[0]]
    with pytest.raises(UsersFileError, match="appears twice"):
        parse_users({"users": twice})
    system = entries()[2]
    with pytest.raises(UsersFileError, match="another user's"):
        parse_users({"users": [system, {**system, "name": "other-system"}]})


def test_the_file_holds_only_users() -> None:
    with pytest.raises(UsersFileError, match="only"):
        parse_users({"users": entries(), "admins": []})
    with pytest.raises(UsersFileError, match="no \\[\\[users\\]\\] entry"):
        parse_users({"users": []})


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(EXAMPLE.read_text())
    path.chmod(0o604)
    with pytest.raises(KeyFilePermissionError, match="0600"):
        load_users(path)


def test_invalid_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("[[users]\nname=")
    path.chmod(0o600)
    with pytest.raises(UsersFileError, match="not valid TOML"):
        load_users(path)


def test_the_example_file_is_in_the_form_the_gateway_reads(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    text = EXAMPLE.read_text().replace('"scrypt$..."', f'"{PASSWORD_HASH}"')
    path.write_text(text.replace('"sha256$..."', f'"{TOKEN_HASH}"'))
    path.chmod(0o600)
    users = load_users(path)
    assert sorted(users) == ["ana", "case-system", "sam", "somchai"]
    assert (users["somchai"].language, users["somchai"].time_zone) == ("th", "Asia/Bangkok")
