"""Finds social services' answers to the referrals this adapter sent, and owes a callback
for each.

The gateway stores every acknowledgement it receives in its inbox (clear header: status,
in_reply_to, sender). This watcher pages through the acknowledgements newer than its
cursor (less a minute of slack, for answers committed in one batch with the same time), keeps
those answering a referral of ours from that referral's recipient (a third agency cannot
answer for it), and adds their callbacks to the store with the cursor, in one transaction.
A crash before that commit scans the same answers again; the callbacks table keeps one per
acknowledgement.

Declined, redirected and completed answers carry their categories in the body: the body is
opened through `Gateway.read` as the adapter's system user on the POLICE channel (the read is
recorded, as any other), and only the categories are kept. An erased body gives none.
`received` and `accepted` say all they need in the clear header and are never opened.
"""

import json
import time
from collections.abc import Callable

from adapters.police.mapping import AnswerFacts, callback_event, categories_of
from adapters.police.store import PENDING, Callback, PoliceStore, SentReferral
from broker.envelope import EnvelopeError
from broker.gateway.records import InboxMessage, ReadChannel
from broker.gateway.service import Gateway
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch
from broker.gateway.users import GatewayUser
from broker.logs import bound_ids, get_logger
from schemas.acknowledgement import Acknowledgement
from schemas.kinds import AckStatus, MessageKind

log = get_logger(__name__)

PAGE = 200
SLACK_S = 60.0
_WITH_CATEGORIES = frozenset({AckStatus.DECLINED, AckStatus.REDIRECTED, AckStatus.COMPLETED})


def webhook_id_of(ack_message_id: str) -> str:
    """The callback's `webhook-id`: the same on every attempt (the receiver's dedupe key)."""
    return f"cl_{ack_message_id}"


def callback_body(facts: AnswerFacts) -> bytes:
    """The exact bytes sent: compact, ASCII-only JSON (signed as they are)."""
    return json.dumps(callback_event(facts), separators=(",", ":"), sort_keys=True).encode()


class AnswerWatcher:
    """`scan` once: new answers to our referrals become owed callbacks."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        store: PoliceStore,
        reader: GatewayUser,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._gateway, self._store, self._reader, self._clock = gateway, store, reader, clock

    async def scan(self) -> int:
        """Owe a callback for each new answer; returns how many were added."""
        since = await self._store.cursor()
        fresh, newest = await self._acknowledgements_since(since - SLACK_S)
        if not fresh:
            return 0
        ours = await self._store.referrals_by_id([m.in_reply_to or "" for m in fresh])
        answers = [
            (message, ours[message.in_reply_to])
            for message in fresh
            if message.in_reply_to in ours and message.sender == ours[message.in_reply_to].recipient
        ]
        owed_already = await self._store.owed([message.message_id for message, _ in answers])
        owed = [
            await self._callback(message, referral)
            for message, referral in answers
            if message.message_id not in owed_already
        ]
        await self._store.owe(owed, max(newest, since))
        return len(owed)

    async def _acknowledgements_since(self, since: float) -> tuple[list[InboxMessage], float]:
        found: list[InboxMessage] = []
        newest = since
        offset = 0
        while True:
            page = await self._gateway.store.inbox(
                kind=MessageKind.ACKNOWLEDGEMENT.value, limit=PAGE, offset=offset
            )
            for message in page:
                if message.received_at < since:
                    return found, newest
                newest = max(newest, message.received_at)
                found.append(message)
            if len(page) < PAGE:
                return found, newest
            offset += PAGE

    async def _callback(self, message: InboxMessage, referral: SentReferral) -> Callback:
        categories: dict[str, str | None] = {}
        if message.status in _WITH_CATEGORIES:
            categories = await self._categories(message)
        facts = AnswerFacts(
            ack_message_id=message.message_id,
            referral_message_id=referral.message_id,
            thread_id=referral.thread_id,
            agency=message.sender,
            status=message.status or "",
            answered_at=int(message.received_at),
            notification_id=referral.notification_id,
            police_reference=referral.police_reference,
            child_ref=referral.child_ref,
            **categories,
        )
        now = self._clock()
        with bound_ids(message_id=message.message_id, thread_id=message.thread_id):
            log.info("police callback owed", status=message.status)
        return Callback(
            ack_message_id=message.message_id,
            system=referral.system,
            webhook_id=webhook_id_of(message.message_id),
            event_type=callback_event(facts)["type"],  # the signed body's own type
            referral_message_id=referral.message_id,
            thread_id=referral.thread_id,
            body=callback_body(facts),
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            last_status=None,
            last_error=None,
            created_at=now,
            finished_at=None,
        )

    async def _categories(self, message: InboxMessage) -> dict[str, str | None]:
        try:
            _, body = await self._gateway.read(message.message_id, self._reader, ReadChannel.POLICE)
        except (KeyError, BodyErased):
            return {}
        except (EnvelopeError, StoredEnvelopeMismatch) as error:
            # An answer that no longer opens (its key rotated away, say) is still owed to
            # the police system, without its categories; it must not hold up the rest.
            with bound_ids(message_id=message.message_id, thread_id=message.thread_id):
                log.warning("answer not opened for its callback", reason=error.reason)
            return {}
        return categories_of(body) if isinstance(body, Acknowledgement) else {}
