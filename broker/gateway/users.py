"""The gateway's users: people who sign in with a password, systems that present a token.

One TOML file (setting `users_file`, mode 0600, refused when others may read it), in the
dashboard's `[[users]]` form; `caselink gateway add-user` writes its entries:

    [[users]]
    name = "ana"                      # sign-in name: letters, digits, . _ @ -
    role = "caseworker"               # caseworker | supervisor | system
    password_hash = "scrypt$..."      # people only (broker.people.passwords)
    display_name = "Ana Lopes"        # optional: names her in answers (default: name)
    job_title = "Duty social worker"  # optional: her role in answers (default: by role)
    phone = "+44 20 7946 0000"        # optional, given in answers
    email = "ana@example.org"         # optional, given in answers
    language = "es"                   # optional: the inbox pages' language (en, th, da, es)
    time_zone = "America/Bogota"      # optional: times on the pages (IANA name; default UTC)

    [[users]]
    name = "case-system"
    role = "system"
    token_hash = "sha256$..."         # systems only (broker.people.tokens)

What each role may do is `PERMISSIONS`, decided here and nowhere else.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from pydantic import ValidationError

from broker.errors import CaselinkError
from broker.keystore import read_private
from broker.look.languages import DEFAULT_LANGUAGE
from broker.look.reading import checked_reading
from broker.people.names import is_user_name
from broker.people.passwords import PasswordHashError, scrypt_cost
from broker.people.tokens import TokenHashError, check_token_hash
from schemas.common import Worker


class UsersFileError(CaselinkError, ValueError):
    """The gateway's users file is unreadable, not valid TOML, or breaks its rules."""

    reason = "invalid_users_file"


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    SYSTEM = "system"  # the agency's own case system or adapter: a token, no password


class Permission(StrEnum):
    SEND = "send"  # submit referrals, transfers, consents, acknowledgements
    READ = "read"  # list the inbox and sent messages, open a message's body
    ANSWER = "answer"  # accept, decline, redirect, complete
    AUDIT = "audit"  # list who read a thread, and the sign-in log
    CONSENT = "consent"  # record and withdraw consents in the agency's register


# Recording a consent is casework (a parent signs a form in front of a caseworker; a
# hospital's system posts a FHIR Consent), so every role may; only supervisors authorise a
# sharing without consent, and that is checked by name (gateway.consent_rules).
_WORK = frozenset({Permission.SEND, Permission.READ, Permission.ANSWER, Permission.CONSENT})
PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        Role.CASEWORKER: _WORK,
        Role.SUPERVISOR: _WORK | {Permission.AUDIT},
        Role.SYSTEM: _WORK,
    }
)
PEOPLE = frozenset({Role.CASEWORKER, Role.SUPERVISOR})  # sign in with a password
_JOB_TITLES = {
    Role.CASEWORKER: "Caseworker",
    Role.SUPERVISOR: "Supervisor",
    Role.SYSTEM: "Agency system",
}
_KEYS = {
    "name",
    "role",
    "password_hash",
    "token_hash",
    "display_name",
    "job_title",
    "phone",
    "email",
    "language",
    "time_zone",
}


# Worker fields by the users-file keys that fill them.
_IN_FILE = {"name": "display_name", "role": "job_title", "phone": "phone", "email": "email"}


@dataclass(frozen=True, slots=True)
class GatewayUser:
    """One user; exactly one of `password_hash` (people) and `token_hash` (systems) is set.

    `worker` is how an answer from this user names them to the other agency; `language`
    and `time_zone` how the inbox pages speak to them and show times.
    """

    name: str
    role: Role
    worker: Worker
    password_hash: str | None = None
    token_hash: str | None = None
    language: str = DEFAULT_LANGUAGE
    time_zone: str = "UTC"

    def may(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]


def load_users(path: Path) -> Mapping[str, GatewayUser]:
    """The users in the file at `path`, by name.

    Raises KeyFilePermissionError when group or others may read it, UsersFileError for any
    other fault (one line, naming the entry, never a hash).
    """
    try:
        content = read_private(path)
    except FileNotFoundError as error:
        raise UsersFileError(f"no users file at {path} (`caselink gateway add-user`)") from error
    except OSError as error:
        raise UsersFileError(f"cannot read the users file {path}: {error.strerror}") from error
    try:
        document = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsersFileError(f"the users file {path} is not valid TOML: {error}") from error
    return parse_users(document)


def parse_users(document: Mapping[str, object]) -> Mapping[str, GatewayUser]:
    """The users of a parsed users file; raises UsersFileError naming the entry at fault."""
    if set(document) - {"users"}:
        raise UsersFileError("the users file holds only [[users]] entries")
    entries = document.get("users")
    if not isinstance(entries, list) or not entries:
        raise UsersFileError("the users file has no [[users]] entry")
    users: dict[str, GatewayUser] = {}
    tokens: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        user = parse_user(entry, f"users entry {index}")
        if user.name in users:
            raise UsersFileError(f"users entry {index}: name {user.name!r} appears twice")
        if user.token_hash is not None:
            if user.token_hash in tokens:
                raise UsersFileError(f"user {user.name!r}: token_hash is another user's too")
            tokens.add(user.token_hash)
        users[user.name] = user
    return MappingProxyType(users)


def parse_user(entry: object, where: str = "users entry") -> GatewayUser:
    """One `[[users]]` entry; raises UsersFileError naming `where` (then the user)."""
    if not isinstance(entry, dict):
        raise UsersFileError(f"{where}: must be a table")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise UsersFileError(f"{where}: unknown key {unknown[0]!r}")
    name = entry.get("name")
    if not is_user_name(name):
        raise UsersFileError(f"{where}: name must be 1-64 letters, digits or . _ @ -")
    where = f"user {name!r}"
    role_value = entry.get("role")
    if role_value not in set(Role):
        raise UsersFileError(f"{where}: role must be one of {', '.join(Role)}")
    role = Role(role_value)
    password_hash, token_hash = _credential(entry, role, where)
    language, time_zone = _reading(entry, where)
    return GatewayUser(
        name=name,
        role=role,
        worker=_worker(entry, name, role, where),
        password_hash=password_hash,
        token_hash=token_hash,
        language=language,
        time_zone=time_zone,
    )


def _reading(entry: dict[str, object], where: str) -> tuple[str, str]:
    """The user's language and time zone for the pages, checked here so no page fails on them."""
    language = entry.get("language", DEFAULT_LANGUAGE)
    time_zone = entry.get("time_zone", "UTC")
    try:
        return checked_reading(language, time_zone)
    except ValueError as error:
        raise UsersFileError(f"{where}: {error}") from None


def _credential(entry: dict[str, object], role: Role, where: str) -> tuple[str | None, str | None]:
    password_hash, token_hash = entry.get("password_hash"), entry.get("token_hash")
    if role in PEOPLE:
        # A person signs in with a password; a token would be a second, unthrottled way in.
        if token_hash is not None:
            raise UsersFileError(f"{where}: a {role} signs in with a password, not a token_hash")
        if not isinstance(password_hash, str):
            raise UsersFileError(f"{where}: password_hash is required")
        try:
            scrypt_cost(password_hash)
        except PasswordHashError as error:
            raise UsersFileError(f"{where}: {error}") from error
        return password_hash, None
    if password_hash is not None:
        raise UsersFileError(f"{where}: a system presents a token, it has no password_hash")
    if not isinstance(token_hash, str):
        raise UsersFileError(f"{where}: token_hash is required")
    try:
        return None, check_token_hash(token_hash)
    except TokenHashError as error:
        raise UsersFileError(f"{where}: {error}") from error


def _worker(entry: dict[str, object], name: str, role: Role, where: str) -> Worker:
    try:
        return Worker.model_validate(
            {
                "name": entry.get("display_name", name),
                "role": entry.get("job_title", _JOB_TITLES[role]),
                "phone": entry.get("phone"),
                "email": entry.get("email"),
            }
        )
    except ValidationError as error:
        fields = sorted({_IN_FILE[str(e["loc"][0])] for e in error.errors(include_input=False)})
        raise UsersFileError(f"{where}: invalid {', '.join(fields)}") from error
