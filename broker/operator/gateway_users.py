"""Edit a gateway's users file: add or remove one `[[users]]` entry, keeping the rest as written.

tomlkit keeps the operator's comments and layout; after every change the whole file is
checked as the gateway will read it (broker.gateway.users.parse_users) before it is written,
0600, in one step. The file is read only when group and others cannot read it.
"""

import tomllib
from collections.abc import Mapping
from pathlib import Path

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT

from broker.gateway.users import GatewayUser, UsersFileError, parse_user, parse_users
from broker.keystore import read_private, replace_private


def add_user(path: Path, entry: Mapping[str, str]) -> GatewayUser:
    """Append `entry` to the users file at `path`, created 0600 when absent.

    Raises UsersFileError when the entry is invalid or its name is taken,
    KeyFilePermissionError when others may read the existing file.
    """
    user = parse_user(dict(entry))
    document = _read(path)
    users = document.get("users")
    if users is None:
        users = tomlkit.aot()
        document.append("users", users)
    if not isinstance(users, AoT):
        raise UsersFileError(f"{path}: `users` must be an array of [[users]] tables")
    if any(existing.get("name") == user.name for existing in users):
        raise UsersFileError(f"{path}: a user named {user.name!r} exists already")
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, value)
    users.append(table)
    _write(path, document)
    return user


def remove_user(path: Path, name: str) -> None:
    """Remove the user `name` from the users file at `path` (its token or password goes too).

    Raises UsersFileError when there is no such user or none would be left.
    """
    document = _read(path)
    users = document.get("users")
    if not isinstance(users, AoT) or not any(u.get("name") == name for u in users):
        raise UsersFileError(f"{path}: no user named {name!r}")
    kept = [table for table in users if table.get("name") != name]
    if not kept:
        raise UsersFileError(f"{path}: {name!r} is the last user; the gateway needs one")
    replacement = tomlkit.aot()
    for table in kept:
        replacement.append(table)
    document["users"] = replacement
    _write(path, document)


def _read(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(read_private(path).decode("utf-8"))
    except (ParseError, UnicodeDecodeError) as error:
        raise UsersFileError(f"the users file {path} is not valid TOML: {error}") from error


def _write(path: Path, document: tomlkit.TOMLDocument) -> None:
    text = tomlkit.dumps(document)
    parse_users(tomllib.loads(text))  # as the gateway will read it
    replace_private(path, text.encode("utf-8"))  # creates it too, 0600
