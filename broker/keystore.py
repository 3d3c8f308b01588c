"""Key, token and directory files on disk.

Private keys and tokens are created 0600 and exclusively, and refused when others can read
them. The directory is always verified against the root public key as it is loaded.
"""

import os
import secrets
import stat
import tomllib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from broker.envelope import AgencyKeys, RootKey, RootPublicKey, TrustedDirectory, verify_directory
from broker.errors import CaselinkError
from broker.settings_file import ConfigError

# `caselink keys secret` writes 43 characters; anything this short was typed by hand.
MIN_TOKEN_CHARS = 16


class KeyFilePermissionError(CaselinkError):
    """A private key file is readable by group or others, or would overwrite an existing file."""

    reason = "key_file_permissions"


def write_private(path: Path, content: bytes) -> None:
    """Create `path` with mode 0600; refuse to overwrite an existing key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFilePermissionError(f"{path} exists; refusing to overwrite a key") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def shared_mode(path: Path) -> int | None:
    """`path`'s permission bits when group or others have any access to it, else None.

    The one test of "others may read it", for key files and for database files and folders.
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & (stat.S_IRWXG | stat.S_IRWXO) else None


def replace_private(path: Path, content: bytes) -> None:
    """Write `path` with mode 0600, replacing what is there in one step (os.replace).

    For secret files that are edited, such as a users file; keys use write_private, which
    never overwrites. A reader sees the old file or the new one, never half of either.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_private(path: Path) -> bytes:
    """Read a private key file, refusing one that group or others may read (like ssh does)."""
    mode = shared_mode(path)
    if mode is not None:
        raise KeyFilePermissionError(f"{path} has mode {mode:o}; it must be 0600")
    return path.read_bytes()


def read_token(path: Path) -> str:
    """A bearer token from its 0600 file (one line, printable ASCII).

    Raises KeyFilePermissionError when group or others may read it, ConfigError when it
    holds no token or one under MIN_TOKEN_CHARS characters.
    """
    token = read_private(path).decode("ascii", errors="replace").strip()
    if len(token) < MIN_TOKEN_CHARS or not token.isprintable():
        raise ConfigError(f"{path} holds no usable token (`caselink keys secret` writes one)")
    return token


def token_matches(presented: str, expected: str) -> bool:
    """Whether a presented bearer token is `expected`, in time that does not tell how close.

    Compared as UTF-8 bytes: compare_digest refuses str with non-ASCII characters, which a
    request header may carry.
    """
    return secrets.compare_digest(
        presented.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


def refuse_readable_passwords(path: Path, url_fields: Iterable[str]) -> None:
    """Refuse a settings file whose URLs hold a password when group or others may read it.

    Raises KeyFilePermissionError naming the fields, never the password. The file is read
    again rather than taken from the settings: an environment variable may have replaced a
    value, and what matters is what this file discloses.
    """
    mode = shared_mode(path)
    if mode is None:
        return
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    holding = [
        name
        for name in url_fields
        if isinstance(document.get(name), str) and _holds_password(document[name])
    ]
    if holding:
        raise KeyFilePermissionError(
            f"{path} has mode {mode:o}; it must be 0600 (a password in {', '.join(holding)};"
            " or give the URL in a CASELINK_ variable)"
        )


def _holds_password(value: str) -> bool:
    # An AMQP URL may list a cluster's nodes, separated by spaces (broker.amqp.nodes).
    return any(_url_holds_password(url) for url in value.split())


def _url_holds_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
        # asyncpg also takes ?password=... in the query.
        return bool(parts.password) or "password" in parse_qs(parts.query)
    except ValueError:
        return True  # unparseable: it may well hold one, so it is kept as if it did


def write_public(path: Path, content: bytes) -> None:
    """Write a public file (directory entry, root public key) atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)


def load_agency_keys(path: Path) -> AgencyKeys:
    """An agency's private keys; raises KeyFilePermissionError or KeyFileError."""
    return AgencyKeys.from_bytes(read_private(path))


def load_root_key(path: Path) -> RootKey:
    """The federation root private key; raises KeyFilePermissionError or KeyFileError."""
    return RootKey.from_bytes(read_private(path))


def load_root_public(path: Path) -> RootPublicKey:
    """The federation root public key that every reader of the directory trusts."""
    return RootPublicKey.from_bytes(path.read_bytes())


def load_trusted_directory(directory: Path, root_public: Path) -> TrustedDirectory:
    """Read and verify the signed directory; raises DirectoryError when it is refused."""
    return verify_directory(directory.read_bytes(), load_root_public(root_public))
