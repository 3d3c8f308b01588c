"""The education adapter's I/O: poll the folder, send each ready file's rows, write receipts.

Per file: read it whole (capped), hash it; a content already processed (under any name) is
a duplicate and sends nothing; otherwise parse and map every row before the first submit,
allocate each row's ids in the ledger, then for each row record its consent (when given)
and submit the referral under those ids as the table's `send_as` user. A row refused by the
mapping or by the gateway (ConsentRefused and any other typed refusal) refuses only itself.
An untyped failure (the store down) leaves the file where it is for the next poll, which
sends again under the same ids. Logs carry counts and categories only.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

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
from schemas.consent import Consent
from schemas.kinds import MessageKind

log = get_logger(__name__)


class ConsentRecorder(Protocol):
    def __call__(self, consent: Consent, *, by: GatewayUser) -> Awaitable[object]: ...


class ConsentUnavailable(CaselinkError):
    """The gateway cannot record consents (Gateway.record_consent is missing)."""

    reason = "consent_recording_unavailable"


async def _no_recorder(consent: Consent, *, by: GatewayUser) -> None:
    raise ConsentUnavailable("this gateway cannot record consents")


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
        ids = await self.ledger.ids_for(sha256, [item.ref for item in parsed.items if item.row])
        decided = [
            (item, self._map(item, ids, moment.date(), parsed.iso_dates)) for item in parsed.items
        ]
        lines = [await self._send(item.ref, outcome, ids) for item, outcome in decided]
        receipt = Receipt(path.name, sha256, moment.isoformat(), "processed", lines=lines)
        self._move(path, DONE, stamp, receipt)
        await self.ledger.finish(sha256, "processed", now)
        return receipt

    def _map(
        self, item: Item, ids: dict[str, RowIds], today: date, iso_dates: bool
    ) -> Mapped | Refusal:
        if item.row is None:
            return item.refusal or Refusal("unreadable_row")
        return to_referral(
            item.row,
            self.settings,
            today=today,
            consent_id=ids[item.ref].consent_id,
            iso_dates=iso_dates,
        )

    async def _send(self, ref: str, outcome: Mapped | Refusal, ids: dict[str, RowIds]) -> Line:
        if isinstance(outcome, Refusal):
            return Line(ref, "refused", reason=outcome.reason, fields=outcome.fields)
        row_ids = ids[ref]
        try:
            if outcome.consent is not None:
                await self._recorder()(outcome.consent, by=self.user)
            entry = await self.context.gateway.submit(
                outcome.referral,
                kind=MessageKind.REFERRAL,
                recipient=outcome.recipient,
                thread_id=row_ids.thread_id,
                message_id=row_ids.message_id,
                by=self.user,
            )
        except CaselinkError as refused:
            return Line(ref, "refused", reason=refused.reason)
        return Line(ref, "sent", thread_id=entry.thread_id, message_id=entry.message_id)

    def _recorder(self) -> Callable[..., Awaitable[object]]:
        # Gateway.record_consent is being added beside this adapter; until it is there a
        # row with consent is refused (consent_recording_unavailable), never sent uncited.
        recorder: Callable[..., Awaitable[object]] | None = getattr(
            self.context.gateway, "record_consent", None
        )
        return recorder or _no_recorder

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
