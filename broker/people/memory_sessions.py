"""SessionStore held in memory: the in-memory stores' sessions (tracker and gateway).

Each method runs without awaiting, so every call is atomic under asyncio. Nothing
survives a restart: a restart signs everybody out.
"""

from dataclasses import replace

from broker.people.sessions import SessionRecord


class MemorySessions:
    """Sessions by hash."""

    def __init__(self) -> None:
        self._sessions: dict[str, SessionRecord] = {}

    async def add_session(self, record: SessionRecord) -> None:
        """Keep a new session."""
        self._sessions[record.session_hash] = record

    async def session(self, session_hash: str) -> SessionRecord | None:
        """The session with this hash, or None."""
        return self._sessions.get(session_hash)

    async def revoke_session(self, session_hash: str, at: float) -> None:
        """Mark the session revoked; the first revocation's time is kept."""
        record = self._sessions.get(session_hash)
        if record is not None and record.revoked_at is None:
            self._sessions[session_hash] = replace(record, revoked_at=float(at))

    async def forget_sessions(self, expired_before: float) -> None:
        """Delete the sessions that expired before `expired_before`."""
        expired = [key for key, s in self._sessions.items() if s.expires_at < expired_before]
        for key in expired:
            del self._sessions[key]
