"""The gateway store keeps the inbox pages' sessions (broker.people.sessions.SessionStore),
on every implementation (memory, SQLite, PostgreSQL); they outlive a restart on the SQL ones."""

from broker.gateway.ports import GatewayStore
from tests.integration.store.conftest import Backend
from tests.session_contract import session, sessions_are_kept_revoked_and_forgotten


async def test_sessions_are_kept_revoked_and_forgotten(store: GatewayStore) -> None:
    await sessions_are_kept_revoked_and_forgotten(store)


async def test_sessions_outlive_a_restart(sql_backend: Backend) -> None:
    first = await sql_backend.open()
    kept = session("ana", 5000.0)
    await first.add_session(kept)
    await first.close()
    assert await (await sql_backend.open()).session(kept.session_hash) == kept
