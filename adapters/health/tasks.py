"""The Tasks a hospital reads: referrals received here, and referrals it sent (I/O).

A received referral is read whole: its body is opened only through `Gateway.read` with the
FHIR channel (the read recorded, as the hospital's system user) and shown as a Task with
its Patient, ServiceRequest and PractitionerRoles contained. Its status is its inbox stage
(`received` until answered); its lastUpdated is its arrival (the gateway keeps no time of
later moves). A referral the hospital sent is sealed to its recipient, which this gateway
cannot open: it is read as a Task without content, whose status follows the answers
received (`SentStatus.stage`), with the statusReason or output of the latest answer (that
acknowledgement's body opened through `Gateway.read` too). Searches look through the
newest `scan_limit` received and sent referrals.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from adapters.health.answers import answer_fields, status_of
from adapters.health.mapping import TaskFacts, bare_task, referral_to_task
from adapters.health.outcome import NotFound
from adapters.health.resources import Json
from adapters.health.search import TaskQuery
from adapters.health.vocabulary import TaskStatus
from broker.envelope import EnvelopeError
from broker.gateway.lifecycle import stage as inbox_stage
from broker.gateway.records import InboxMessage, ReadChannel, SentStatus
from broker.gateway.service import Gateway
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch
from broker.gateway.users import GatewayUser
from broker.lifecycle import Stage
from schemas.acknowledgement import Acknowledgement
from schemas.kinds import AckStatus, MessageKind
from schemas.referral import Referral

_PAGE = 100
_WITH_DETAILS = frozenset(
    {AckStatus.DECLINED, AckStatus.REDIRECTED, AckStatus.PLANNED, AckStatus.COMPLETED}
)


@dataclass(frozen=True)
class Found:
    """One Task found: a received referral (`received`) or a sent one (`sent`)."""

    status: TaskStatus
    last_updated: float
    received: InboxMessage | None = None
    sent: SentStatus | None = None


def received_stage(message: InboxMessage) -> Stage:
    return inbox_stage(message.state) or Stage.DELIVERED


def sent_stage(sent: SentStatus) -> Stage:
    return sent.stage or Stage.SENT


def _found_received(message: InboxMessage) -> Found:
    return Found(status_of(received_stage(message)), message.received_at, received=message)


def _found_sent(sent: SentStatus) -> Found:
    times = [sent.message.created_at, sent.delivered_at or 0.0, sent.answered_at or 0.0]
    return Found(status_of(sent_stage(sent)), max(times), sent=sent)


class TaskBook:
    """Finds and shows referrals as Tasks for one reader; every body opened is recorded."""

    def __init__(self, gateway: Gateway, *, scan_limit: int) -> None:
        self._gateway = gateway
        self._scan_limit = scan_limit

    async def find(self, task_id: str) -> Found | None:
        """The referral, received or sent, whose message id is `task_id`."""
        store = self._gateway.store
        message = await store.inbox_message(task_id)
        if message is not None and message.kind == MessageKind.REFERRAL:
            return _found_received(message)
        sent = await store.sent_message(task_id)
        if sent is not None and sent.message.kind == MessageKind.REFERRAL:
            return _found_sent(sent)
        return None

    async def search(self, query: TaskQuery) -> list[Found]:
        """The referrals matching `query`, last updated first, at most `query.count`."""
        earliest = query.earliest()
        found = [
            f
            for f in await self._received(earliest)
            if f.status and query.matches(f.status, f.last_updated)
        ]
        found += [f for f in await self._sent() if query.matches(f.status, f.last_updated)]
        found.sort(key=lambda f: f.last_updated, reverse=True)
        return found[: query.count]

    async def show(self, found: Sequence[Found], reader: GatewayUser) -> list[Json]:
        """The Tasks of `found`, bodies opened for `reader` (each read recorded)."""
        answers: dict[tuple[str, str], InboxMessage] | None = None
        tasks = []
        for item in found:
            if item.received is not None:
                tasks.append(await self._received_task(item, item.received, reader))
                continue
            assert item.sent is not None
            if answers is None and item.sent.answer in _WITH_DETAILS:
                answers = await self._answers()
            tasks.append(await self._sent_task(item, item.sent, answers or {}, reader))
        return tasks

    async def _received_task(
        self, found: Found, message: InboxMessage, reader: GatewayUser
    ) -> Json:
        facts = TaskFacts(
            task_id=message.message_id,
            thread_id=message.thread_id,
            status=found.status.value,
            owner=self._gateway.agency_id,
            sender=message.sender,
            authored_on=message.received_at,
            last_updated=found.last_updated,
        )
        if message.erased_at is not None:
            return bare_task(facts)
        try:
            _, body = await self._gateway.read(message.message_id, reader, ReadChannel.FHIR)
        except KeyError:
            raise NotFound("no such Task") from None
        except (BodyErased, EnvelopeError, StoredEnvelopeMismatch):
            # Erased, or no longer openable (a key rotated away): the Task without its
            # referral, rather than a whole search lost to one body.
            return bare_task(facts)
        if not isinstance(body, Referral):
            raise NotFound("no such Task")
        return referral_to_task(body, facts)

    async def _sent_task(
        self,
        found: Found,
        sent: SentStatus,
        answers: dict[tuple[str, str], InboxMessage],
        reader: GatewayUser,
    ) -> Json:
        message = sent.message
        task = bare_task(
            TaskFacts(
                task_id=message.message_id,
                thread_id=message.thread_id,
                status=found.status.value,
                owner=message.recipient,
                sender=self._gateway.agency_id,
                authored_on=message.created_at,
                last_updated=found.last_updated,
            )
        )
        answer = answers.get((message.message_id, message.recipient))
        if answer is not None and answer.erased_at is None and answer.status == sent.answer:
            try:
                _, body = await self._gateway.read(answer.message_id, reader, ReadChannel.FHIR)
            except (KeyError, BodyErased, EnvelopeError, StoredEnvelopeMismatch):
                return task
            if isinstance(body, Acknowledgement):
                task.update(answer_fields(body))
        return task

    async def _received(self, earliest: float | None) -> list[Found]:
        found: list[Found] = []
        for offset in range(0, self._scan_limit, _PAGE):
            page = await self._gateway.store.inbox(
                kind=MessageKind.REFERRAL.value,
                limit=min(_PAGE, self._scan_limit - offset),
                offset=offset,
            )
            found += [_found_received(m) for m in page]
            # Newest first, and a received Task's lastUpdated is its arrival: older pages
            # cannot match a lower bound the last row already fails.
            if len(page) < _PAGE or (
                earliest is not None and page and page[-1].received_at < earliest
            ):
                break
        return found

    async def _sent(self) -> list[Found]:
        found: list[Found] = []
        for offset in range(0, self._scan_limit, _PAGE):
            page = await self._gateway.store.sent(
                limit=min(_PAGE, self._scan_limit - offset), offset=offset
            )
            found += [_found_sent(s) for s in page if s.message.kind == MessageKind.REFERRAL]
            if len(page) < _PAGE:
                break
        return found

    async def _answers(self) -> dict[tuple[str, str], InboxMessage]:
        # The latest answer to each sent message from each agency, among the newest
        # acknowledgements (only its recipient's is shown: a third agency cannot answer).
        latest: dict[tuple[str, str], InboxMessage] = {}
        for offset in range(0, self._scan_limit, _PAGE):
            page = await self._gateway.store.inbox(
                kind=MessageKind.ACKNOWLEDGEMENT.value,
                limit=min(_PAGE, self._scan_limit - offset),
                offset=offset,
            )
            for ack in page:
                if ack.in_reply_to and ack.status in _WITH_DETAILS:
                    latest.setdefault((ack.in_reply_to, ack.sender), ack)
            if len(page) < _PAGE:
                break
        return latest


async def one_task(book: TaskBook, task_id: str, reader: GatewayUser) -> Json:
    """The Task `task_id` for `reader` (without content once its body is erased); raises
    NotFound."""
    found = await book.find(task_id)
    if found is None:
        raise NotFound("no such Task")
    [task] = await book.show([found], reader)
    return task
