"""One police notification in: verified, deduplicated, mapped whole, then sent child by child.

The order is the point. The signature is verified over the raw bytes (size-capped as they
are read) before anything parses them; a webhook-id seen before answers what it was
answered then (its body must be the same bytes, else 409). The JSON is parsed and validated,
and every child mapped, before anything is stored or sent. Then one commit to the adapter's
store holds the webhook-id, the body's hash and the ids of each child's referral (and
consent), before the first submit: a crash between two submits is resumed under the same
ids by the police system's retry, and a retry of an accepted notification finds every
referral in the gateway's outbox and is answered the same ids again, from those rows.
Refusals of the content and of the consent rules (4xx) are kept and replayed; 503s are not.
"""

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from adapters.police import problems
from adapters.police.mapping import ChildReferral, referrals_of
from adapters.police.native import Notification
from adapters.police.problems import Problem
from adapters.police.signing import SignatureRefused, verify
from adapters.police.store import PoliceStore, SentReferral
from broker.errors import CaselinkError
from broker.gateway.consent_rules import ConsentRefused
from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser
from broker.logs import get_logger
from schemas.field_errors import field_errors, schema_field_names
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind

log = get_logger(__name__)

ACCEPTED = 202


@dataclass(frozen=True)
class Answer:
    """What the webhook answers: a status and a JSON document (ids, or a problem)."""

    status: int
    document: dict[str, Any]
    replayed: bool = False
    headers: Mapping[str, str] | None = None

    @classmethod
    def of(cls, problem: Problem) -> "Answer":
        return cls(problem.status, problem.as_json(), headers=problem.headers)


class Intake:
    """Takes notifications for one gateway, from the police systems whose keys it holds."""

    def __init__(
        self,
        *,
        gateway: Gateway,
        store: PoliceStore,
        sender: GatewayUser,
        recipient: str,
        keys: Mapping[str, bytes],
        tolerance_s: int,
        clock: Callable[[], float],
        supervisors: Mapping[str, str] | None = None,
    ) -> None:
        self._gateway, self._store, self._sender = gateway, store, sender
        self._supervisors = supervisors or {}
        self._recipient, self._tolerance_s, self._clock = recipient, tolerance_s, clock
        self._systems = list(keys)
        self._keys = [keys[name] for name in self._systems]
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def take(self, headers: Mapping[str, str], body: bytes, content_type: str) -> Answer:
        """The answer to one posted notification (never raises for what was posted)."""
        try:
            verified = verify(
                self._keys, headers, body, now=self._clock(), tolerance_s=self._tolerance_s
            )
        except SignatureRefused as refused:
            log.warning("police webhook refused", reason=refused.reason)
            return Answer.of(problems.unauthenticated(refused.reason))
        system = self._systems[verified.signer]
        key = (system, verified.webhook_id)
        # One at a time per webhook-id: a concurrent retry waits, then gets the answer.
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                return await self._once(system, verified.webhook_id, body, content_type)
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]

    async def _once(self, system: str, webhook_id: str, body: bytes, content_type: str) -> Answer:
        digest = hashlib.sha256(body).hexdigest()
        read = self._read(body, content_type)
        if isinstance(read, Answer):
            answer = await self._refuse(system, webhook_id, digest, read)
        else:
            answer = await self._take(system, webhook_id, digest, read)
        log.info("police notification", status=answer.status, count=_count(answer))
        return answer

    def _read(self, body: bytes, content_type: str) -> Notification | Answer:
        """The notification, or the refusal of what was posted (pure: nothing stored yet)."""
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return Answer.of(problems.unsupported_media())
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return Answer.of(problems.not_json())
        try:
            return Notification.model_validate(parsed)
        except ValidationError as error:
            errors = field_errors(
                error.errors(include_input=False), known=schema_field_names(Notification)
            )
            return Answer.of(problems.invalid(errors, "the police notification"))

    async def _refuse(self, system: str, webhook_id: str, digest: str, refusal: Answer) -> Answer:
        """Answer a refusal of the content, kept for retries; unless the id was seen before."""
        seen = await self._store.seen(system, webhook_id)
        if seen is not None and seen.body_sha256 != digest:
            return Answer.of(problems.reused_id())
        if seen is not None and seen.status is not None and seen.answer is not None:
            return Answer(seen.status, json.loads(seen.answer), replayed=True)
        await self._keep(system, webhook_id, digest, refusal)
        return refusal

    async def _keep(self, system: str, webhook_id: str, digest: str, answer: Answer) -> None:
        await self._store.answer(
            system, webhook_id, digest, self._clock(), answer.status,
            json.dumps(answer.document, separators=(",", ":")),
        )  # fmt: skip

    async def _take(
        self, system: str, webhook_id: str, digest: str, notification: Notification
    ) -> Answer:
        # Mapped whole before anything is stored or sent: one bad child refuses them all.
        planned = self._plan(system, webhook_id, notification)
        now = self._clock()
        try:
            mapped = self._map(notification, planned, _day(now))
        except ValidationError as error:
            # A native value the canonical model refuses (a rule the native schema lacks).
            errors = field_errors(error.errors(include_input=False))
            return await self._refuse(
                system, webhook_id, digest,
                Answer.of(problems.invalid(errors, "as a Caselink referral")),
            )  # fmt: skip
        try:
            # One commit: the webhook and the ids, before the first submit; or what was held.
            claim = await self._store.claim(system, webhook_id, digest, now, planned)
            if claim.body_sha256 != digest:
                return Answer.of(problems.reused_id())
            if claim.status is not None and claim.answer is not None:
                return Answer(claim.status, json.loads(claim.answer), replayed=True)
            held = claim.referrals
            pending = list(range(len(held)))
            if claim.resumed:
                # The ids and the day of the first time: the same referrals, the same consents.
                mapped = self._map(notification, held, _day(claim.received_at))
                pending = await self._unsent(held)
            for index in pending:
                await self._send(held[index], mapped[index])
        except ConsentRefused as refused:
            answer = Answer.of(problems.consent_refused(refused.reason, str(refused)))
            await self._keep(system, webhook_id, digest, answer)
            log.warning("police notification refused", reason=refused.reason)
            return answer
        except CaselinkError as error:
            log.error("police notification not sent", reason=error.reason)
            return Answer.of(problems.unavailable(error.reason))
        return Answer(
            ACCEPTED,
            {
                "notification_id": notification.notification_id,
                "status": "accepted",
                "recipient": self._recipient,
                "referrals": [
                    {"child_ref": r.child_ref, "message_id": r.message_id, "thread_id": r.thread_id}
                    for r in held
                ],
            },
            # Every child was in the outbox already: the first answer, made again.
            replayed=claim.resumed and not pending,
        )

    async def _unsent(self, held: Sequence[SentReferral]) -> list[int]:
        """Which held referrals the gateway's outbox lacks (a retry after an interruption)."""
        store = self._gateway.store
        return [i for i, r in enumerate(held) if await store.sent_message(r.message_id) is None]

    def _plan(self, system: str, webhook_id: str, notification: Notification) -> list[SentReferral]:
        with_consent = notification.consent_to_share.obtained
        return [
            SentReferral(
                message_id=new_message_id(),
                thread_id=new_thread_id(),
                system=system,
                webhook_id=webhook_id,
                position=position,
                notification_id=notification.notification_id,
                police_reference=notification.police_reference,
                child_ref=child.child_ref,
                recipient=self._recipient,
                consent_id=new_message_id() if with_consent else None,
            )
            for position, child in enumerate(notification.children)
        ]

    def _map(
        self, notification: Notification, held: Sequence[SentReferral], today: date
    ) -> list[ChildReferral]:
        return referrals_of(
            notification,
            recipient=self._recipient,
            today=today,
            consent_ids=[r.consent_id or new_message_id() for r in held],
            supervisors=self._supervisors,
        )

    async def _send(self, sent: SentReferral, child: ChildReferral) -> None:
        """Record the child's consent (when obtained), then submit the referral citing it.

        Recording the same consent again changes nothing, so a resumed send records it again.
        Raises ConsentRefused (the consent rules) and the gateway's CaselinkErrors.
        """
        if child.consent is not None:
            await self._gateway.record_consent(child.consent, by=self._sender)
        await self._gateway.submit(
            child.referral,
            kind=MessageKind.REFERRAL,
            recipient=self._recipient,
            thread_id=sent.thread_id,
            message_id=sent.message_id,
            by=self._sender,
        )


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


def _count(answer: Answer) -> int:
    return len(answer.document.get("referrals", ()))
