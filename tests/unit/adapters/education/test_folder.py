"""The watched folder end to end on the in-memory broker: rows sent to a second gateway,
receipts beside the moved file, half-written files left alone, duplicates and restarts."""

import json
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from adapters.education import EducationAdapter, build
from adapters.education.folder import FolderOpenToOthers
from adapters.education.ledger import Ledger
from adapters.education.sample import sample_concern_csv, sample_row
from broker.gateway.adapter_port import AdapterConfigError
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import ConsentRecord, ReadChannel
from broker.gateway.service import Gateway
from broker.store.errors import DatabaseFilePermissionError, StoreUnavailable
from schemas.examples import CONSENT_ID as EXAMPLE_CONSENT_ID
from schemas.referral import Referral
from tests.gateway_users import make_users
from tests.memory_federation import MemoryFederation, memory_federation
from tests.unit.adapters.education.helpers import SCHOOL_AGENCY, SOCIAL, context, table
from tests.unit.gateway.api_harness import api_of, make_gateway
from tests.waiting import eventually

WITHOUT_CONSENT = {
    "consent": "not_sought",
    "consent_by": "",
    "consent_by_relation": "",
    "urgency": "immediate",
    "no_consent_reason": "The child named her mother's partner; telling them would endanger her.",
}


@asynccontextmanager
async def running(
    tmp_path: Path,
    federation: MemoryFederation,
    store: MemoryGatewayStore | None = None,
    *,
    background: bool = False,
    clock: Callable[[], float] = time.time,
    **overrides: object,
) -> AsyncIterator[tuple[EducationAdapter, Gateway]]:
    """The adapter on a started gateway: polling in the background, or (by default) opened
    only, for the test to drive `poll_once` itself. `clock` is the adapter's (the gateway
    keeps the real time)."""
    gateway = make_gateway(federation, SCHOOL_AGENCY, store=store)
    adapter = build(table(**overrides), context(gateway, tmp_path, clock))
    if background:
        async with api_of(gateway, adapters=[adapter]):
            yield adapter, gateway
        return
    async with api_of(gateway):
        await adapter.open()
        try:
            yield adapter, gateway
        finally:
            await adapter.close()


def receipt_of(done: Path) -> dict[str, object]:
    [found] = done.glob("*.receipt.json")
    loaded: dict[str, object] = json.loads(found.read_text())
    return loaded


async def recorded_consents(gateway: Gateway) -> list[ConsentRecord]:
    """The consents the adapter recorded (not the example one the harness records)."""
    return [c for c in await gateway.store.consents() if c.consent_id != EXAMPLE_CONSENT_ID]


async def test_rows_are_sent_to_the_other_agency_and_receipted(tmp_path: Path) -> None:
    federation = memory_federation()
    social_store = MemoryGatewayStore()
    social = make_gateway(federation, SOCIAL, store=social_store)
    reader = make_users()["ana"]
    rows = [
        sample_row(**WITHOUT_CONSENT),
        sample_row(child_dob="2016-03-14"),  # ISO: not this school's format
        sample_row(**WITHOUT_CONSENT, child_forename="Leo"),
    ]
    async with api_of(social), running(tmp_path, federation, background=True) as (_adapter, _):
        inbox = tmp_path / "inbox"
        (inbox / "concerns.csv").write_bytes(sample_concern_csv(rows))

        async def receipted() -> bool:
            return any((inbox / "done").glob("*.receipt.json"))

        await eventually(receipted, "the file's receipt")  # the background poll
        assert not (inbox / "concerns.csv").exists()
        [moved] = [p for p in (inbox / "done").iterdir() if p.name.endswith("concerns.csv")]
        assert moved.read_bytes() == sample_concern_csv(rows)
        receipt = receipt_of(inbox / "done")
        lines = receipt["rows"]
        assert isinstance(lines, list)
        assert [(line["row"], line["outcome"]) for line in lines] == [
            ("2", "sent"),
            ("3", "refused"),
            ("4", "sent"),
        ]
        assert (lines[1]["reason"], lines[1]["fields"]) == ("invalid_field", ["child_dob"])
        receipt_text = next((inbox / "done").glob("*.receipt.csv")).read_text("utf-8-sig")
        assert "Maya" not in receipt_text
        assert "Okafor" not in receipt_text

        async def arrived() -> bool:
            return len(await social_store.inbox()) == 2

        await eventually(arrived, "two referrals at the social-services gateway")
        first = await social_store.inbox_message(lines[0]["message_id"])
        assert first is not None
        assert first.thread_id == lines[0]["thread_id"]
        _, body = await social.read(first.message_id, reader, ReadChannel.API)
        assert isinstance(body, Referral)
        assert body.subject.given_name == "Maya"
        assert body.lawful_basis is not None
        assert body.authorised_by is not None


async def test_a_half_written_file_is_not_read(tmp_path: Path) -> None:
    async with running(tmp_path, memory_federation()) as (adapter, _):
        inbox = tmp_path / "inbox"
        content = sample_concern_csv([sample_row(**WITHOUT_CONSENT)])
        part = inbox / "concerns.csv.part"
        part.write_bytes(content[:100])
        growing = inbox / "other.csv"
        other = sample_concern_csv([sample_row(**WITHOUT_CONSENT, record_id="CP-9")])
        growing.write_bytes(other[:100])
        assert await adapter.poll_once() == []  # first look at other.csv
        with growing.open("ab") as handle:
            handle.write(other[100:])
        os.utime(growing, ns=(1, 1))
        assert await adapter.poll_once() == []  # it changed since the last look
        part.write_bytes(content)
        assert await adapter.poll_once() != []  # other.csv unchanged across two looks
        assert await adapter.poll_once() == []
        part.rename(inbox / "concerns.csv")
        assert await adapter.poll_once() == []  # seen once
        [receipt] = await adapter.poll_once()
        assert (receipt.file, receipt.sent) == ("concerns.csv", 1)


async def test_the_same_content_is_sent_once_under_any_name_and_after_restart(
    tmp_path: Path,
) -> None:
    federation = memory_federation()
    store = MemoryGatewayStore()
    content = sample_concern_csv([sample_row(**WITHOUT_CONSENT)])
    inbox = tmp_path / "inbox"
    async with running(tmp_path, federation, store=store) as (adapter, _):
        (inbox / "monday.csv").write_bytes(content)
        await adapter.poll_once()
        [first] = await adapter.poll_once()
        assert first.sent == 1
        (inbox / "monday-again.csv").write_bytes(content)
        await adapter.poll_once()
        [again] = await adapter.poll_once()
        assert (again.outcome, again.reason, again.lines) == ("duplicate", "already_processed", [])
    # A new process over the same ledger: the same content is still a duplicate.
    async with running(tmp_path, federation, store=store) as (adapter, _):
        (inbox / "monday.csv").write_bytes(content)
        await adapter.poll_once()
        [after] = await adapter.poll_once()
        assert after.outcome == "duplicate"
    assert len(await store.sent()) == 1
    assert len(list((inbox / "done").glob("*.receipt.csv"))) == 3  # names never collide


async def test_a_file_interrupted_before_its_receipt_is_sent_again_under_the_same_ids(
    tmp_path: Path,
) -> None:
    federation = memory_federation()
    store = MemoryGatewayStore()
    content = sample_concern_csv([sample_row(**WITHOUT_CONSENT)])
    inbox = tmp_path / "inbox"
    async with running(tmp_path, federation, store=store) as (adapter, _):
        (inbox / "c.csv").write_bytes(content)
        [ready] = (adapter.folder.ready(), adapter.folder.ready())[1]
        # Simulate a crash after the first submit: the row sent, no receipt, not finished.
        original_move = adapter._move
        adapter._move = lambda *args: (_ for _ in ()).throw(OSError("disk gone"))  # type: ignore[method-assign]
        with pytest.raises(OSError, match="disk gone"):
            await adapter.process(ready)
        adapter._move = original_move  # type: ignore[method-assign]
        [sent] = await store.sent()
    async with running(tmp_path, federation, store=store) as (adapter, _):
        await adapter.poll_once()
        [receipt] = await adapter.poll_once()
        assert receipt.lines[0].message_id == sent.message.message_id
    assert len(await store.sent()) == 1


async def test_an_unreadable_file_goes_to_failed_with_its_receipt(tmp_path: Path) -> None:
    async with running(tmp_path, memory_federation()) as (adapter, _):
        inbox = tmp_path / "inbox"
        (inbox / "@SUM(1+1).csv").write_bytes(b"nickname,school_urn\r\nx,y\r\n")
        await adapter.poll_once()
        [receipt] = await adapter.poll_once()
        assert (receipt.outcome, receipt.reason, receipt.fields) == (
            "refused",
            "unknown_column",
            ("column 1",),
        )
        [csv_receipt] = (inbox / "failed").glob("*.receipt.csv")
        assert '"\'@SUM(1+1).csv"' in csv_receipt.read_text("utf-8-sig")
        assert "nickname" not in csv_receipt.read_text("utf-8-sig")


async def test_consent_is_recorded_then_cited(tmp_path: Path) -> None:
    federation = memory_federation()
    social = make_gateway(federation, SOCIAL)
    async with api_of(social), running(tmp_path, federation) as (adapter, gateway):
        inbox = tmp_path / "inbox"
        (inbox / "a.csv").write_bytes(sample_concern_csv([sample_row()]))
        await adapter.poll_once()
        [receipt] = await adapter.poll_once()
        [line] = receipt.lines
        assert (line.outcome, line.reason) == ("sent", None)
        # Recorded in the school gateway's register: the school's recipient alone, for the
        # table's purposes, from today, by the user the adapter acts as.
        [consent] = await recorded_consents(gateway)
        assert consent.status == "granted"
        assert (consent.agencies, consent.agency_kinds) == ((SOCIAL,), ())
        assert consent.purposes == ("assessment",)
        assert consent.valid_from == datetime.now(UTC).date()
        assert (consent.giver, consent.recorded_by) == ("parent", "case-system")

        async def arrived() -> bool:
            return len(await social.store.inbox()) == 1

        await eventually(arrived, "the referral at the social-services gateway")
        assert line.message_id is not None
        _, body = await social.read(line.message_id, make_users()["ana"], ReadChannel.API)
        assert isinstance(body, Referral)
        assert body.consent_ref == consent.consent_id
        assert body.lawful_basis is None


async def test_a_consent_the_gateway_refuses_refuses_only_its_row(tmp_path: Path) -> None:
    rows = [
        # Counselling is service provision; the school's consent covers assessment only.
        sample_row(requested_service="counselling", record_id="CP-1"),
        sample_row(record_id="CP-2"),
    ]
    async with running(tmp_path, memory_federation()) as (adapter, gateway):
        inbox = tmp_path / "inbox"
        (inbox / "a.csv").write_bytes(sample_concern_csv(rows))
        await adapter.poll_once()
        [receipt] = await adapter.poll_once()
        refused, sent = receipt.lines
        assert (refused.outcome, refused.reason, refused.fields) == (
            "refused",
            "purpose_not_covered",
            (),
        )
        assert refused.message_id is None
        assert sent.outcome == "sent"
        [only] = await gateway.store.sent()
        assert only.message.message_id == sent.message_id
        text = next((inbox / "done").glob("*.receipt.csv")).read_text("utf-8-sig")
        assert '"purpose_not_covered"' in text
        assert "Maya" not in text
        assert "Grace" not in text


async def test_a_file_with_consents_interrupted_is_processed_again_the_next_day(
    tmp_path: Path,
) -> None:
    federation = memory_federation()
    store = MemoryGatewayStore()
    content = sample_concern_csv([sample_row(), sample_row(**WITHOUT_CONSENT, record_id="CP-2")])
    inbox = tmp_path / "inbox"
    yesterday = datetime.now(UTC).date() - timedelta(days=1)

    def a_day_ago() -> float:
        return time.time() - 86_400

    async with running(tmp_path, federation, store=store, clock=a_day_ago) as (adapter, _):
        (inbox / "c.csv").write_bytes(content)
        [ready] = (adapter.folder.ready(), adapter.folder.ready())[1]
        # A crash after both rows went (consent recorded, referral in the outbox), before
        # the receipt was written or the file marked finished.
        adapter._move = lambda *args: (_ for _ in ()).throw(OSError("disk gone"))  # type: ignore[method-assign]
        with pytest.raises(OSError, match="disk gone"):
            await adapter.process(ready)
        sent_before = {status.message.message_id for status in await store.sent()}
        assert len(sent_before) == 2
    # The next process, the next day: the row's consent is mapped again from the ledger's
    # first day, so recording it again is a repeat, not a conflict, and the sends are the
    # ones already in the outbox.
    async with running(tmp_path, federation, store=store) as (adapter, gateway):
        await adapter.poll_once()
        [receipt] = await adapter.poll_once()
        assert [(line.outcome, line.reason) for line in receipt.lines] == [
            ("sent", None),
            ("sent", None),
        ]
        assert {line.message_id for line in receipt.lines} == sent_before
        [consent] = await recorded_consents(gateway)
        assert consent.valid_from == yesterday
    assert len(await store.sent()) == 2


async def test_a_lawful_basis_needs_a_supervisor_of_the_users_file(tmp_path: Path) -> None:
    policy = table()["without_consent"] | {
        "authorised_by": {"name": "Tom Reed", "role": "Headteacher"}
    }
    with capture_logs() as logs:
        async with running(tmp_path, memory_federation(), without_consent=policy) as (
            adapter,
            gateway,
        ):
            inbox = tmp_path / "inbox"
            rows = [sample_row(**WITHOUT_CONSENT), sample_row(record_id="CP-2")]
            (inbox / "a.csv").write_bytes(sample_concern_csv(rows))
            await adapter.poll_once()
            [receipt] = await adapter.poll_once()
    assert [(line.outcome, line.reason) for line in receipt.lines] == [
        ("refused", "not_authorised_by_supervisor"),
        ("sent", None),
    ]
    assert len(await gateway.store.sent()) == 1
    [warned] = [line for line in logs if line["log_level"] == "warning"]
    assert "Tom Reed" not in json.dumps(warned)


async def test_a_ledger_others_may_read_refuses_start(tmp_path: Path) -> None:
    gateway = make_gateway(memory_federation(), SCHOOL_AGENCY)
    state = tmp_path / "state"
    state.mkdir(mode=0o755)
    state.chmod(0o755)
    adapter = build(table(), context(gateway, tmp_path))
    with pytest.raises(DatabaseFilePermissionError):
        await adapter.start()
    ledger = Ledger(tmp_path / "private" / "l.sqlite")
    await ledger.open()
    await ledger.close()
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "private" / "l.sqlite").stat().st_mode) == 0o600


def test_a_bad_table_is_one_line(tmp_path: Path) -> None:
    gateway = make_gateway(memory_federation(), SCHOOL_AGENCY)
    with pytest.raises(
        AdapterConfigError, match=r"^\[adapters\.education\]: invalid .*date_format"
    ):
        build(table(schools={"1": {"date_format": "%m/%y"}}), context(gateway, tmp_path))
    with pytest.raises(AdapterConfigError, match="send_as names no user"):
        build(table(send_as="nobody"), context(gateway, tmp_path))


async def test_an_empty_json_report_refuses_only_itself(tmp_path: Path) -> None:
    async with running(tmp_path, memory_federation()) as (adapter, _):
        inbox = tmp_path / "inbox"
        (inbox / "empty.json").write_text("[{}]")
        await adapter.poll_once()  # the first look: a file must be unchanged over two
        [receipt] = await adapter.poll_once()
        assert receipt.outcome == "processed"
        [line] = receipt.lines
        assert line.outcome == "refused"


async def test_the_store_down_leaves_the_file_for_the_next_poll(tmp_path: Path) -> None:
    async with running(tmp_path, memory_federation()) as (adapter, gateway):
        inbox = tmp_path / "inbox"
        (inbox / "concerns.csv").write_bytes(sample_concern_csv([sample_row(**WITHOUT_CONSENT)]))
        await adapter.poll_once()
        real_submit = gateway.submit

        async def store_down(*args: object, **kwargs: object) -> object:
            raise StoreUnavailable("the database is away")

        gateway.submit = store_down  # type: ignore[method-assign]
        with pytest.raises(StoreUnavailable):
            await adapter.poll_once()
        assert (inbox / "concerns.csv").exists()  # not moved, not receipted as refused
        assert not (inbox / "done").exists() or not any((inbox / "done").iterdir())
        gateway.submit = real_submit  # type: ignore[method-assign]
        [receipt] = await adapter.poll_once()
        assert [line.outcome for line in receipt.lines] == ["sent"]


async def test_a_folder_open_to_others_refuses_start(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir(mode=0o755)
    inbox.chmod(0o755)  # the umask may have taken some bits away
    gateway = make_gateway(memory_federation(), SCHOOL_AGENCY)
    with pytest.raises(FolderOpenToOthers, match="open to others"):
        build(table(), context(gateway, tmp_path))
