"""The education adapter's I/O: poll the folder, send each ready file's rows, write receipts.

Per file: read it whole (capped), hash it; a content already processed (under any name) is
a duplicate and sends nothing; otherwise parse it, allocate each row's ids and the file's
first day in the ledger, map every row before the first submit, then for each row record
its consent in the gateway's register (when given; valid from the file's first day) and
submit the referral citing it, under those ids, as the table's `send_as` user. A row refused by
the mapping or by the gateway refuses only itself, on the receipt, with the refusal's slug:
ConsentRefused (the consent does not cover the send, or a lawful basis no supervisor
authorised), ConsentConflict (the consent id holds another consent), any other typed
refusal. An untyped failure (the store down) leaves the file where it is for the next poll,
which records the same consents again (a repeat, by the register's rule) and sends again
under the same ids. Logs carry counts and categories only.
"""

import asyncio
import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.education.folder import DONE, FAILED, WatchedFolder, move_out, read_capped
from adapters.education.ledger import Ledger, RowIds
from adapters.education.mapping import Mapped, Refusal, to_referral
from adapters.education.parsing import FileRefused, Item, parse
from adapters.education.receipts import Line, Receipt, receipt_csv, receipt_json
from adapters.education.settings import EducationSettings
from broker.background import stop_tasks
from broker.errors import CaselinkError
from broker.gateway.adapter_port import AdapterContext
from broker.gateway.users import GatewayUser
from broker.logs import RecurringFailure, get_logger
from broker.store.errors import StoreError
from schemas.kinds import MessageKind

log = get_logger(__name__)


class EducationAdapter:
    """Schools' reports of concern from a watched folder, as referrals."""

    name = "education"

    def __init__(
        self,
        settings: EducationSettings,
        context: AdapterContext,
        user: GatewayUser,
    ) -> None:
        self.settings = settings
        self.context = context
        self.user = user
        self.folder = WatchedFolder(settings.folder)
        self.ledger = Ledger(settings.state)
        self._task: asyncio.Task[None] | None = None
        # One poll at a time: two would both find a file ready and send it twice.
        self._polling = asyncio.Lock()
        self._failures = RecurringFailure(log, "education folder poll", clock=context.clock)

    def router(self) -> None:
        return None

    def self_authenticated_paths(self) -> tuple[str, ...]:
        return ()

    async def start(self) -> None:
        """Open, then poll every `poll_s` in the background until `stop`."""
        await self.open()
        self._task = asyncio.create_task(self._run(), name="education-folder")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_tasks([self._task])
            self._task = None
        await self.close()

    async def open(self) -> None:
        """Open the ledger (DatabaseFilePermissionError when others may read it) and prepare
        the folder; `poll_once` may then be called without the background loop."""
        await self.ledger.open()
        self.folder.prepare()

    async def close(self) -> None:
        await self.ledger.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
                self._failures.resolved()
            except Exception as error:  # the next poll tries again; the loop must live
                self._failures.failed("education folder poll failed", reason=type(error).__name__)
            await asyncio.sleep(self.settings.poll_s)

    async def poll_once(self) -> list[Receipt]:
        """Process every file that is ready; the receipts written, in order."""
        async with self._polling:
            return await self._poll()

    async def _poll(self) -> list[Receipt]:
        receipts = []
        for path in self.folder.ready():
            receipt = await self.process(path)
            self.folder.forget(path)
            receipts.append(receipt)
            log.info("education file", status=receipt.outcome, reason=receipt.reason)
            log.info("education rows sent", count=receipt.sent)
            log.info("education rows refused", count=receipt.refused)
        return receipts

    async def process(self, path: Path) -> Receipt:
        """Send one file's rows; write its receipts and move it out."""
        now = self.context.clock()
        moment = datetime.fromtimestamp(now, UTC)
        stamp = moment.strftime("%Y%m%dT%H%M%S%fZ")
        try:
            content = read_capped(path, self.settings.max_file_bytes)
        except FileRefused as refused:
            return self._finish_refused(path, stamp, "", refused, moment)
        sha256 = hashlib.sha256(content).hexdigest()
        if await self.ledger.finished(sha256):
            receipt = Receipt(
                path.name, sha256, moment.isoformat(), "duplicate", reason="already_processed"
            )
            self._move(path, DONE, stamp, receipt)
            return receipt
        try:
            parsed = parse(path.name, content, max_rows=self.settings.max_rows)
        except FileRefused as refused:
            return self._finish_refused(path, stamp, sha256, refused, moment)
        refs = [item.ref for item in parsed.items if item.row is not None]
        allocated = await self.ledger.ids_for(sha256, refs, today=moment.date())
        ids = allocated.rows
        decided = [
            (item, self._map(item, ids, allocated.day, parsed.iso_dates)) for item in parsed.items
        ]
        lines = [await self._send(item.ref, outcome, ids) for item, outcome in decided]
        receipt = Receipt(path.name, sha256, moment.isoformat(), "processed", lines=lines)
        self._move(path, DONE, stamp, receipt)
        await self.ledger.finish(sha256, "processed", now)
        return receipt

    def _map(
        self, item: Item, ids: dict[str, RowIds], first_day: date, iso_dates: bool
    ) -> Mapped | Refusal:
        if item.row is None:
            return item.refusal or Refusal("unreadable_row")
        return to_referral(
            item.row,
            self.settings,
            today=first_day,
            consent_id=ids[item.ref].consent_id,
            iso_dates=iso_dates,
        )

    async def _send(self, ref: str, outcome: Mapped | Refusal, ids: dict[str, RowIds]) -> Line:
        if isinstance(outcome, Refusal):
            return Line(ref, "refused", reason=outcome.reason, fields=outcome.fields)
        row_ids = ids[ref]
        gateway = self.context.gateway
        try:
            if outcome.consent is not None:
                # Before the submit that cites it; recorded again after a crash, the same
                # consent (same id, day and scope) is a repeat and changes nothing.
                await gateway.record_consent(outcome.consent, by=self.user)
            entry = await gateway.submit(
                outcome.referral,
                kind=MessageKind.REFERRAL,
                recipient=outcome.recipient,
                thread_id=row_ids.thread_id,
                message_id=row_ids.message_id,
                by=self.user,
            )
        except StoreError:
            # The store down is no refusal of the row: the file stays for the next poll,
            # and its ids, claimed in the ledger, are sent again then.
            raise
        except CaselinkError as refused:
            # A consent refused or in conflict, an envelope that cannot be sealed: the
            # row's receipt line carries the slug, never the message (it names ids).
            return Line(ref, "refused", reason=refused.reason)
        return Line(ref, "sent", thread_id=entry.thread_id, message_id=entry.message_id)

    def _finish_refused(
        self, path: Path, stamp: str, sha256: str, refused: FileRefused, moment: datetime
    ) -> Receipt:
        receipt = Receipt(
            path.name,
            sha256,
            moment.isoformat(),
            "refused",
            reason=refused.reason,
            fields=refused.fields,
        )
        self._move(path, FAILED, stamp, receipt)
        return receipt

    def _move(self, path: Path, to: str, stamp: str, receipt: Receipt) -> None:
        move_out(
            path,
            to,
            stamp,
            receipt.sha256 or "unhashed",
            {".receipt.csv": receipt_csv(receipt), ".receipt.json": receipt_json(receipt)},
        )
