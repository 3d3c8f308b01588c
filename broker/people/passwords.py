"""Password hashing with scrypt (memory-hard, in the standard library), shared by every sign-in.

Stored form: `scrypt$n$r$p$salt_b64$hash_b64`. The dashboard's and the gateway's users files
hold it; `PasswordCheck` compares in constant time and spends the same effort on an unknown
name as on a known one, so timing does not tell who exists.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import secrets

from broker.errors import CaselinkError


class PasswordHashError(CaselinkError, ValueError):
    """A stored password hash is not in the `scrypt$n$r$p$salt$hash` format or its bounds."""

    reason = "invalid_password_hash"


# OWASP's scrypt setting for 16 MiB of memory (N=2^14, r=8, p=5).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
_SALT_BYTES, _HASH_BYTES = 16, 32
# Bounds on a stored hash's parameters: a hand-edited file must not exhaust memory or CPU.
_MAX_N, _MAX_R, _MAX_P = 2**20, 32, 64
_MAX_MEMORY = 2**30


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


class PasswordCheck:
    """Checks passwords against stored hashes, with a decoy for names nobody holds.

    The decoy is hashed at the cost of `sample` (a real user's hash) so that a wrong name
    takes as long as a wrong password.
    """

    def __init__(self, sample: str | None) -> None:
        n, r, p = scrypt_cost(sample) if sample else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
        self._decoy = hash_password(secrets.token_urlsafe(16), n=n, r=r, p=p)

    async def matches(self, password: str, stored: str | None) -> bool:
        """True when `password` matches `stored`; False for None (scrypt runs off the loop)."""
        matched = await asyncio.to_thread(verify_password, password, stored or self._decoy)
        return matched and stored is not None
