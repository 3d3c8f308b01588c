"""The users file, password hashing and the scope each role gets."""

from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError
from broker.people.passwords import PasswordHashError, hash_password, verify_password
from broker.web import Role, UsersFileError, load_users
from tests.unit.web.seed import make_users

CHEAP = {"n": 2**8, "r": 8, "p": 1}


def test_hash_verifies_only_its_password() -> None:
    stored = hash_password("correct horse", **CHEAP)
    assert stored.startswith("scrypt$256$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert stored != hash_password("correct horse", **CHEAP)  # a fresh salt each time


def test_default_cost_is_memory_hard() -> None:
    n, r, p = (int(part) for part in hash_password("x").split("$")[1:4])
    assert 128 * n * r >= 16 * 2**20  # at least 16 MiB per guess
    assert p >= 1


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "bcrypt$x",
        "scrypt$256$8$1$c2FsdA==",  # a part missing
        "scrypt$255$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==",  # n not a power of 2
        "scrypt$2097152$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==",  # n too large
        "scrypt$256$8$1$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAA==",  # salt too short
        "scrypt$256$8$1$not*base64$AAAAAAAAAAAAAAAAAAAAAA==",
    ],
)
def test_malformed_hash_is_refused(stored: str) -> None:
    with pytest.raises(PasswordHashError):
        verify_password("x", stored)


def _write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "users.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_load_users(tmp_path: Path) -> None:
    coordinator, supervisor = hash_password("a", **CHEAP), hash_password("b", **CHEAP)
    path = _write(
        tmp_path,
        f"""
[[users]]
name = "ana"
role = "coordinator"
password_hash = "{coordinator}"

[[users]]
name = "bo"
role = "supervisor"
agency = "hospital-east"
password_hash = "{supervisor}"
""",
    )
    users = load_users(path)
    assert users["ana"].role is Role.COORDINATOR
    assert users["ana"].agency is None
    assert users["bo"].role is Role.SUPERVISOR
    assert users["bo"].agency == "hospital-east"
    assert verify_password("b", users["bo"].password_hash)


GOOD = hash_password("x", n=2**8, r=8, p=1)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not toml [", "not valid TOML"),
        ("", "no [[users]] entry"),
        ('title = "x"', "only [[users]]"),
        ('[[users]]\nname = "a b"\nrole = "coordinator"', "name must be"),
        (f'[[users]]\nname = "a"\nrole = "admin"\npassword_hash = "{GOOD}"', "role must be"),
        (
            f'[[users]]\nname = "a"\nrole = "supervisor"\npassword_hash = "{GOOD}"',
            "needs an agency",
        ),
        (
            f'[[users]]\nname = "a"\nrole = "supervisor"\nagency = "Bad Agency"\n'
            f'password_hash = "{GOOD}"',
            "needs an agency",
        ),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\nagency = "police-west"\n'
            f'password_hash = "{GOOD}"',
            "has no agency",
        ),
        ('[[users]]\nname = "a"\nrole = "coordinator"', "password_hash is required"),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
            'language = "fr"',
            "user 'a': language must be one of en, th, da, es",
        ),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\nlanguage = 1',
            "language must be one of",
        ),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
            'time_zone = "Europe/Kobenhavn"',
            "user 'a': time_zone must be an IANA time zone like Europe/Oslo",
        ),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
            'time_zone = "../../etc/passwd"',
            "time_zone must be an IANA time zone",
        ),
        ('[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "plain"', "scrypt$n$r$p"),
        (f'[[users]]\nname = "a"\nrole = "coordinator"\npassword = "{GOOD}"', "unknown key"),
        (
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
            f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"',
            "appears twice",
        ),
    ],
)
def test_bad_users_file_is_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(UsersFileError) as raised:
        load_users(_write(tmp_path, text))
    assert fragment in str(raised.value)
    assert GOOD not in str(raised.value)  # a hash never ends up in an error message
    assert "\n" not in str(raised.value)  # one line


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_users_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    # Its scrypt hashes can be guessed at offline: it is kept like a key file.
    text = f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"'
    with pytest.raises(KeyFilePermissionError, match="must be 0600") as raised:
        load_users(_write(tmp_path, text, mode))
    assert GOOD not in str(raised.value)


def test_language_and_time_zone_are_optional(tmp_path: Path) -> None:
    text = (
        f'[[users]]\nname = "a"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
        f'[[users]]\nname = "b"\nrole = "coordinator"\npassword_hash = "{GOOD}"\n'
        'language = "da"\ntime_zone = "Europe/Copenhagen"'
    )
    users = load_users(_write(tmp_path, text))
    assert (users["a"].language, users["a"].time_zone) == ("en", "UTC")
    assert (users["b"].language, users["b"].time_zone) == ("da", "Europe/Copenhagen")


def test_missing_users_file(tmp_path: Path) -> None:
    with pytest.raises(UsersFileError, match="cannot read"):
        load_users(tmp_path / "absent.toml")


def test_supervisor_scope_cannot_be_widened() -> None:
    users = make_users()
    assert users["cora"].scope().involving is None
    assert users["cora"].scope(agency="police-west").agency == "police-west"
    narrowed = users["sam"].scope(agency="police-west", kind="referral")
    assert narrowed.involving == "hospital-east"  # still only hospital-east's threads
    assert narrowed.agency == "police-west"
    assert narrowed.kind == "referral"
