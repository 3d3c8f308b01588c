"""A gateway's store made by the previous release, upgraded in place by this one (as
`caselink gateway` does at start): every row kept, as the API reads it, and what the new
revisions add works on it. SQLite and PostgreSQL."""

from dataclasses import replace
from datetime import date
from pathlib import Path

from broker.gateway.ports import GatewayStore
from broker.gateway.records import (
    ConsentRecord,
    ReadChannel,
    SignInMethod,
    SignInOutcome,
    SignInRecord,
    SubmissionKey,
)
from broker.store import migrate
from broker.store.engine import make_engine
from broker.store.gateway_store import SqlGatewayStore
from tests.gateway_records import answer, delivery, incoming, outgoing
from tests.integration.store.conftest import Backend
from tests.integration.store.previous_release import previous_release_store, rows_now
from tests.session_contract import session

CONSENT = "00000000-0000-4000-8000-0000000000c1"


async def fill(store: GatewayStore) -> None:
    """A gateway's life so far: referrals in and out, an answer, reads, sign-ins, an erased
    thread, an idempotency key, a consent, a directory serial."""
    kept, erased = incoming(), incoming()
    await store.store_received([delivery(kept), delivery(erased)])
    first, second = outgoing(author="ana"), outgoing(consent_ref=CONSENT)
    await store.enqueue([first, second, answer(kept, "accepted", author="bo")])
    await store.mark_sent([first.message_id], at=50.0)
    await store.reschedule(second.message_id, attempts=2, next_attempt_at=60.0)
    assert await store.record_read(kept.message_id, "ana", ReadChannel.FHIR, 30.0)
    for at, outcome, name in (
        (20.0, SignInOutcome.SUCCEEDED, "ana"),
        (21.0, SignInOutcome.FAILED, None),
    ):
        await store.record_sign_in(SignInRecord(at, "10.0.0.7", SignInMethod.FORM, outcome, name))
    await store.erase_thread(erased.thread_id, at=40.0, by="operator:root")
    claim = SubmissionKey("key-1", "ab" * 32, outgoing().message_id, first.thread_id, 10.0)
    await store.claim_submission(claim, fresh_after=0.0)
    await store.accept_directory_serial(7, at=5.0)
    await store.save_consent(
        ConsentRecord(
            consent_id=CONSENT,
            status="granted",
            valid_from=date(2026, 1, 1),
            valid_until=date(2027, 6, 30),
            agencies=("police-west",),
            agency_kinds=("health",),
            purposes=("assessment",),
            data_categories=("identity",),
            giver="parent",
            recorded_at=100.0,
            recorded_by="ana",
            sealed=b"caselink-record/v1\x00\xffopaque",
        )
    )


async def everything_read(store: GatewayStore) -> dict[str, object]:
    """What the API reads of a store filled by `fill`."""
    inbox = await store.inbox()
    return {
        "inbox": inbox,
        "messages": [await store.inbox_message(m.message_id) for m in inbox],
        "sent": await store.sent(),
        "due": await store.due(now=1e12, limit=100),
        "reads": [await store.reads(m.thread_id) for m in inbox],
        "sign_ins": await store.sign_ins(),
        "erasures": await store.erasures(),
        "directory_serial": await store.directory_serial(),
        "consents": await store.consents(),
        "consent_recipients": await store.consent_recipients(CONSENT),
        "counts": await store.counts(),
    }


async def test_a_store_of_the_previous_release_is_upgraded_with_its_rows_kept(
    sql_backend: Backend, tmp_path: Path
) -> None:
    folder = tmp_path / "now"
    folder.mkdir(mode=0o700)
    source_url = f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    source = SqlGatewayStore(source_url)
    await source.create()
    await fill(source)
    expected = await everything_read(source)
    await source.close()
    assert sql_backend.url is not None

    copied = await previous_release_store(source_url, sql_backend.url, "gateway")
    assert all(copied[table] for table in ("outbox", "inbox", "reads", "consents", "erasures"))
    assert "sessions" not in copied  # made by gateway_0008, after that release

    upgraded = await sql_backend.open()  # create(): migrates to head, as a start does
    engine = make_engine(sql_backend.url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current, "gateway") == migrate.head("gateway")
    finally:
        await engine.dispose()
    assert await rows_now(sql_backend.url, copied) == copied
    assert await everything_read(upgraded) == expected
    # What came since works on the upgraded store: the inbox pages' sessions.
    kept = session("ana", 5000.0)
    await upgraded.add_session(kept)
    await upgraded.revoke_session(kept.session_hash, 4000.0)
    assert await upgraded.session(kept.session_hash) == replace(kept, revoked_at=4000.0)
    # And what was there goes on: an answer to the kept referral, a new referral out.
    [message, *_] = await upgraded.inbox()
    await upgraded.enqueue([outgoing()])
    assert await upgraded.record_read(message.message_id, "bo", ReadChannel.API, 70.0)
