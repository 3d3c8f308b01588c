"""Server-side sessions (broker.people.sessions) as the dashboard keeps them: signed cookies
naming records kept (as hashes) in the tracker store."""

from dataclasses import asdict, replace

import pytest

from broker.people.passwords import hash_password
from broker.people.sessions import Sessions, SessionSecretError, SessionSigner
from broker.people.tokens import token_hash
from broker.tracker.memory_store import MemoryTrackerStore
from broker.web.users import session_print
from tests.unit.web.seed import SECRET, make_users

OTHER_SECRET = b"another secret of thirty-two b!!"


def session_id(signer: SessionSigner, cookie: str) -> str:
    found = signer.read(cookie, now=0)
    assert found is not None
    return found


def test_cookies_are_signed_and_expire() -> None:
    signer = SessionSigner(SECRET)
    cookie = signer.issue("an-id", expires=1060)
    assert signer.read(cookie, now=1059) == "an-id"
    assert signer.read(cookie, now=1060) is None  # expired
    payload, mac = cookie.split(".")
    assert signer.read(f"{payload}.{mac[:-2]}AA", now=1000) is None
    assert signer.read(f"{payload[:-2]}AA.{mac}", now=1000) is None
    assert signer.read("garbage", now=1000) is None
    assert signer.read("é.é", now=1000) is None
    assert SessionSigner(OTHER_SECRET).read(cookie, now=1000) is None


def test_short_secret_is_refused() -> None:
    with pytest.raises(SessionSecretError):
        SessionSigner(b"short")


async def test_the_store_keeps_a_hash_of_the_id_never_the_id() -> None:
    store, users = MemoryTrackerStore(), make_users()
    signer = SessionSigner(SECRET)
    sessions = Sessions(store, signer, ttl_seconds=60, held=session_print)
    cookie = await sessions.start(users["sam"], now=1000.0)
    secret_id = session_id(signer, cookie)
    assert len(secret_id) >= 43  # 32 random bytes
    record = await store.session(token_hash(secret_id))
    assert record is not None
    assert (record.user, record.created_at, record.expires_at) == ("sam", 1000.0, 1060.0)
    assert all(secret_id not in str(value) for value in asdict(record).values())
    assert await sessions.user(cookie, users, now=1059.0) == users["sam"]
    assert await sessions.user(cookie, users, now=1060.0) is None


async def test_ending_a_session_revokes_its_record() -> None:
    store, users = MemoryTrackerStore(), make_users()
    sessions = Sessions(store, SessionSigner(SECRET), ttl_seconds=60, held=session_print)
    first = await sessions.start(users["cora"], now=1000.0)
    second = await sessions.start(users["cora"], now=1000.0)
    await sessions.end(first, now=1010.0)
    assert await sessions.user(first, users, now=1011.0) is None
    assert await sessions.user(second, users, now=1011.0) == users["cora"]  # the other device
    await sessions.end("not a cookie we signed", now=1012.0)  # nothing to do, no error


async def test_a_session_unknown_to_the_store_is_refused() -> None:
    # Signed with the right secret, but never started (or forgotten): the store decides.
    users = make_users()
    signer = SessionSigner(SECRET)
    sessions = Sessions(MemoryTrackerStore(), signer, ttl_seconds=60, held=session_print)
    assert await sessions.user(signer.issue("made-up-id", 2000), users, now=1000.0) is None


async def test_a_new_password_or_a_removed_user_ends_the_sessions() -> None:
    store, users = MemoryTrackerStore(), make_users()
    signer = SessionSigner(SECRET)
    sessions = Sessions(store, signer, ttl_seconds=60, held=session_print)
    sam = await sessions.start(users["sam"], now=1000.0)
    cora = await sessions.start(users["cora"], now=1000.0)
    changed = {**users, "sam": replace(users["sam"], password_hash=hash_password("new", n=256))}
    assert await sessions.user(sam, changed, now=1001.0) is None
    record = await store.session(token_hash(session_id(signer, sam)))
    assert record is not None
    assert record.revoked_at == 1001.0  # over for good
    assert await sessions.user(sam, users, now=1002.0) is None  # even with the old password back
    assert await sessions.user(cora, {"sam": users["sam"]}, now=1001.0) is None  # cora removed


async def test_expired_sessions_are_forgotten_at_the_next_sign_in() -> None:
    store, users = MemoryTrackerStore(), make_users()
    signer = SessionSigner(SECRET)
    sessions = Sessions(store, signer, ttl_seconds=60, held=session_print)
    old = await sessions.start(users["cora"], now=1000.0)
    await sessions.start(users["cora"], now=1061.0)
    assert await store.session(token_hash(session_id(signer, old))) is None
