"""Dashboard users from a TOML file; passwords hashed as in broker.people.passwords.

[[users]]
name = "ana"
role = "coordinator"            # sees every agency
password_hash = "scrypt$16384$8$5$<salt b64>$<hash b64>"

[[users]]
name = "bo"
role = "supervisor"             # sees only threads involving `agency`
agency = "hospital-east"
password_hash = "scrypt$..."
language = "da"                 # optional: en (default), th, da or es
time_zone = "Europe/Copenhagen" # optional: an IANA time zone; UTC by default
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from broker.keystore import read_private
from broker.look import DEFAULT_LANGUAGE, N_
from broker.look.reading import checked_reading
from broker.people.names import is_user_name
from broker.people.passwords import PasswordHashError, scrypt_cost
from broker.tracker.records import ThreadFilter
from broker.web.errors import UsersFileError
from schemas.ids import AGENCY_ID_PATTERN

_AGENCY = re.compile(AGENCY_ID_PATTERN)
_KEYS = {"name", "role", "agency", "password_hash", "language", "time_zone"}
DEFAULT_TIME_ZONE = "UTC"


class Role(StrEnum):
    COORDINATOR = "coordinator"
    SUPERVISOR = "supervisor"


ROLE_LABELS = {Role.COORDINATOR: N_("coordinator"), Role.SUPERVISOR: N_("supervisor")}
"""How the header names each role (an English message, translated there)."""


@dataclass(frozen=True, slots=True)
class User:
    """One dashboard user; `agency` is set for supervisors only. Pages are in `language`,
    their times in `time_zone`."""

    name: str
    role: Role
    password_hash: str
    agency: str | None = None
    language: str = DEFAULT_LANGUAGE
    time_zone: str = DEFAULT_TIME_ZONE

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


def session_print(user: User) -> str:
    """What, changed in the users file, ends the user's sessions (broker.people.sessions):
    the password hash, and the role and agency that decide what the user sees."""
    return f"{user.role}|{user.agency}|{user.password_hash}"


def load_users(path: Path) -> Mapping[str, User]:
    """The users in the TOML file at `path`, by name; raises UsersFileError on any mistake.

    Raises KeyFilePermissionError when group or others may read the file: password hashes
    can be guessed at offline, so the file is kept like a key (mode 0600).
    """
    try:
        document = tomllib.loads(read_private(path).decode("utf-8"))
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
    language = entry.get("language", DEFAULT_LANGUAGE)
    zone = entry.get("time_zone", DEFAULT_TIME_ZONE)
    if not is_user_name(name):
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
        scrypt_cost(stored)
    except PasswordHashError as error:
        raise UsersFileError(f"{where}: {error}") from error
    try:
        reads_in, zone_name = checked_reading(language, zone)
    except ValueError as error:
        raise UsersFileError(f"{where}: {error}") from None
    return User(
        name=name,
        role=role,
        password_hash=stored,
        agency=agency,
        language=reads_in,
        time_zone=zone_name,
    )
