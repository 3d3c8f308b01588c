"""The RabbitMQ passwords file: one JSON object of user name to password, mode 0600.

It is the single source of every Caselink RabbitMQ password: definitions carry only salted
hashes computed from it, and each agency receives its own entry out of band. It never goes
into the repository, and nothing here prints or logs a password.
"""

import json
import secrets
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

from broker.keystore import read_private, replace_private
from broker.topology.definitions import TopologyError

PASSWORD_BYTES = 32


class SecretsFileError(TopologyError):
    """The passwords file is not a JSON object of user name to non-empty password."""

    reason = "secrets_file"


def read_passwords(path: Path) -> dict[str, str]:
    """Every user's password in the file; raises SecretsFileError, KeyFilePermissionError."""
    try:
        stored = json.loads(read_private(path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SecretsFileError(f"{path} is not valid JSON") from exc
    if not isinstance(stored, dict) or not all(
        isinstance(user, str) and isinstance(password, str) and password
        for user, password in stored.items()
    ):
        raise SecretsFileError(f"{path} must map user names to non-empty passwords")
    return stored


def load_or_create_passwords(path: Path, usernames: Iterable[str]) -> dict[str, str]:
    """The passwords of `usernames`, generating and storing any the file lacks.

    Creates `path` (mode 0600, its folder 0700) when absent and keeps entries of other users.
    Raises SecretsFileError for a malformed file and KeyFilePermissionError when group or
    others may read it.
    """
    stored = read_passwords(path) if path.exists() else {}
    wanted = list(dict.fromkeys(usernames))
    missing = [user for user in wanted if user not in stored]
    if missing or not path.exists():
        for user in missing:
            stored[user] = secrets.token_urlsafe(PASSWORD_BYTES)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_private(path, json.dumps(stored, indent=2, sort_keys=True).encode() + b"\n")
    return {user: stored[user] for user in wanted}


def connection_url(user: str, password: str, host: str, vhost: str) -> str:
    """amqp://USER:PASSWORD@HOST/VHOST, each part percent-encoded where it must be."""
    return (
        f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{host}/{quote(vhost, safe='')}"
    )
