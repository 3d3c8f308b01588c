"""Dashboard users from a TOML file; passwords hashed with scrypt (memory-hard, stdlib).

[[users]]
name = "ana"
role = "coordinator"            # sees every agency
password_hash = "scrypt$16384$8$5$<salt b64>$<hash b64>"

[[users]]
name = "bo"
role = "supervisor"             # sees only threads involving `agency`
agency = "hospital-east"
password_hash = "scrypt$..."
"""

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from broker.tracker.records import ThreadFilter
from broker.web.errors import PasswordHashError, UsersFileError
from schemas.ids import AGENCY_ID_PATTERN

# OWASP's scrypt setting for 16 MiB of memory (N=2^14, r=8, p=5).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
_SALT_BYTES, _HASH_BYTES = 16, 32
# Bounds on a stored hash's parameters: a hand-edited file must not exhaust memory or CPU.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 64
_MAX_MEMORY = 2**30
# Names go into cookies, Basic credentials (no ':') and the audit log (no spaces).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_AGENCY = re.compile(AGENCY_ID_PATTERN)
_KEYS = {"name", "role", "agency", "password_hash"}


class Role(StrEnum):
    COORDINATOR = "coordinator"
    SUPERVISOR = "supervisor"


@dataclass(frozen=True, slots=True)
class User:
    """One dashboard user; `agency` is set for supervisors only."""

    name: str
    role: Role
    password_hash: str
    agency: str | None = None

    def scope(
        self,
        *,
        agency: str | None = None,
        kind: str | None = None,
        urgency: str | None = None,
        phase: str | None = None,
    ) -> ThreadFilter:
        """The filter this user may see; the requested `agency` narrows it, never widens it."""
        involving = self.agency if self.role is Role.SUPERVISOR else None
        return ThreadFilter(
            involving=involving, agency=agency, kind=kind, urgency=urgency, phase=phase
        )

    def may_see(self, parties: set[str]) -> bool:
        """True when this user may see a thread between `parties` (sender and recipients)."""
        return self.role is Role.COORDINATOR or self.agency in parties


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The stored form `scrypt$n$r$p$salt_b64$hash_b64` of `password`, with a fresh salt."""
    _check_parameters(n, r, p)
    salt = secrets.token_bytes(_SALT_BYTES)
    derived = _derive(password, salt, n, r, p, _HASH_BYTES)
    encode = base64.b64encode
    return f"scrypt${n}${r}${p}${encode(salt).decode()}${encode(derived).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored` (compared in constant time).

    Raises PasswordHashError when `stored` is malformed; load_users checks this up front.
    """
    n, r, p, salt, expected = _parse_hash(stored)
    derived = _derive(password, salt, n, r, p, len(expected))
    return hmac.compare_digest(derived, expected)


def scrypt_cost(stored: str) -> tuple[int, int, int]:
    """The (n, r, p) of a stored hash; raises PasswordHashError when it is malformed."""
    n, r, p, _, _ = _parse_hash(stored)
    return n, r, p


def load_users(path: Path) -> Mapping[str, User]:
    """The users in the TOML file at `path`, by name; raises UsersFileError on any mistake."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsersFileError(f"cannot read the users file: {error.strerror}") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsersFileError(f"the users file is not valid TOML: {error}") from error
    return parse_users(document)


def parse_users(document: Mapping[str, object]) -> Mapping[str, User]:
    """The users of a parsed users file; raises UsersFileError naming the entry at fault."""
    if set(document) - {"users"}:
        raise UsersFileError("the users file holds only [[users]] entries")
    entries = document.get("users")
    if not isinstance(entries, list) or not entries:
        raise UsersFileError("the users file has no [[users]] entry")
    users: dict[str, User] = {}
    for index, entry in enumerate(entries, start=1):
        user = _user(entry, f"users entry {index}")
        if user.name in users:
            raise UsersFileError(f"users entry {index}: name {user.name!r} appears twice")
        users[user.name] = user
    return MappingProxyType(users)


def _user(entry: object, where: str) -> User:
    if not isinstance(entry, dict):
        raise UsersFileError(f"{where}: must be a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise UsersFileError(f"{where}: unknown key {unknown[0]!r}")
    name, role, agency, stored = (
        entry.get(key) for key in ("name", "role", "agency", "password_hash")
    )
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UsersFileError(f"{where}: name must be 1-64 letters, digits or . _ @ -")
    where = f"user {name!r}"
    if role not in set(Role):
        raise UsersFileError(f"{where}: role must be 'coordinator' or 'supervisor'")
    role = Role(role)
    if role is Role.SUPERVISOR and not (isinstance(agency, str) and _AGENCY.fullmatch(agency)):
        raise UsersFileError(f"{where}: a supervisor needs an agency id like 'hospital-east'")
    if role is Role.COORDINATOR and agency is not None:
        # A coordinator sees every agency: an agency here would suggest a limit that is not there.
        raise UsersFileError(f"{where}: a coordinator has no agency")
    if not isinstance(stored, str):
        raise UsersFileError(f"{where}: password_hash is required")
    try:
        _parse_hash(stored)
    except PasswordHashError as error:
        raise UsersFileError(f"{where}: {error}") from error
    return User(name=name, role=role, password_hash=stored, agency=agency)


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PasswordHashError("password_hash must look like scrypt$n$r$p$salt$hash")
    try:
        n, r, p = (int(part, 10) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        expected = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as error:
        raise PasswordHashError("password_hash has a malformed number or base64 part") from error
    _check_parameters(n, r, p)
    if len(salt) < 16 or not 16 <= len(expected) <= 64:
        raise PasswordHashError("password_hash needs a salt of 16+ bytes and a 16-64 byte hash")
    return n, r, p, salt, expected


def _check_parameters(n: int, r: int, p: int) -> None:
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= _MAX_R and 1 <= p <= _MAX_P):
        raise PasswordHashError("scrypt parameters out of bounds (n a power of 2 up to 2^20)")
    if _memory(n, r, p) > _MAX_MEMORY:
        raise PasswordHashError("scrypt parameters need more than 1 GiB of memory")


def _memory(n: int, r: int, p: int) -> int:
    # OpenSSL's scrypt needs about 128*r*(n+p) bytes; the margin covers its bookkeeping.
    return 128 * r * (n + p) + 2**20


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_memory(n, r, p), dklen=length
    )
