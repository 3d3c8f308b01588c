"""The SessionStore contract (broker.people.sessions), for every store that keeps sessions:
the tracker's (dashboard) and the gateway's (inbox pages), each in memory, SQLite and
PostgreSQL."""

from dataclasses import replace

from broker.people.sessions import SessionRecord, SessionStore
from broker.people.tokens import token_hash


def session(name: str, expires_at: float) -> SessionRecord:
    return SessionRecord(
        session_hash=token_hash(f"id-of-{name}-{expires_at}"),
        user=name,
        fingerprint="0123456789abcdef01234567",
        created_at=expires_at - 100.0,
        expires_at=expires_at,
    )


async def sessions_are_kept_revoked_and_forgotten(store: SessionStore) -> None:
    ann, bo = session("ann", 1000.0), session("bo", 2000.0)
    for record in (ann, bo):
        await store.add_session(record)
    assert await store.session(ann.session_hash) == ann
    assert await store.session(token_hash("never issued")) is None
    await store.revoke_session(ann.session_hash, 950.0)
    await store.revoke_session(ann.session_hash, 960.0)  # the first time is kept
    assert await store.session(ann.session_hash) == replace(ann, revoked_at=950.0)
    await store.revoke_session(token_hash("never issued"), 970.0)  # no error
    await store.forget_sessions(expired_before=1000.0)
    assert await store.session(ann.session_hash) == replace(ann, revoked_at=950.0)  # not before
    await store.forget_sessions(expired_before=1000.5)
    assert await store.session(ann.session_hash) is None
    assert await store.session(bo.session_hash) == bo
