"""One police notification in: verified, deduplicated, mapped whole, then sent child by child.

The order is the point. The signature is verified over the raw bytes (size-capped as they
are read) before anything parses them; a webhook-id seen before answers what it was
answered then (its body must be the same bytes, else 409); only then is the JSON parsed and
validated, and every child mapped, before the first submit. The ids of each child's
referral (and consent) are allocated and committed with the notification before sending,
so a crash between two submits is resumed under the same ids by the police system's retry.
Answers (202 and the 4xx refusals of the content) are kept and replayed; 503s are not.
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
    ) -> None:
        self._gateway, self._store, self._sender = gateway, store, sender
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
        seen = await self._store.seen(system, webhook_id)
        if seen is not None and seen.body_sha256 != digest:
            return Answer.of(problems.reused_id())
        if seen is not None and seen.status is not None and seen.answer is not None:
            return Answer(seen.status, json.loads(seen.answer), replayed=True)
        answer = await self._answer(system, webhook_id, digest, body, content_type)
        if answer.status < 500:
            await self._store.answer(
                system, webhook_id, digest, self._clock(), answer.status,
                json.dumps(answer.document, separators=(",", ":")),
            )  # fmt: skip
        log.info("police notification", status=answer.status, count=_count(answer))
        return answer

    async def _answer(
        self, system: str, webhook_id: str, digest: str, body: bytes, content_type: str
    ) -> Answer:
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return Answer.of(problems.unsupported_media())
        try:
            parsed = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return Answer.of(problems.not_json())
        try:
            notification = Notification.model_validate(parsed)
        except ValidationError as error:
            errors = field_errors(
                error.errors(include_input=False), known=schema_field_names(Notification)
            )
            return Answer.of(problems.invalid(errors, "the police notification"))
        planned = self._plan(system, webhook_id, notification)
        today = datetime.fromtimestamp(self._clock(), UTC).date()
        try:
            mapped = self._map(notification, planned, today)
        except ValidationError as error:
            # A native value the canonical model refuses (a rule the native schema lacks).
            errors = field_errors(error.errors(include_input=False))
            return Answer.of(problems.invalid(errors, "as a Caselink referral"))
        try:
            held = await self._store.claim(system, webhook_id, digest, self._clock(), planned)
            if held != planned:  # resumed: the ids allocated the first time
                mapped = self._map(notification, held, today)
            await self._send(held, mapped)
        except CaselinkError as error:
            if error.reason.startswith("consent"):
                return Answer.of(problems.refused(error.reason, str(error)))
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
        )

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
                consent_message_id=new_message_id() if with_consent else None,
                consent_thread_id=new_thread_id() if with_consent else None,
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
        )

    async def _send(self, held: Sequence[SentReferral], mapped: Sequence[ChildReferral]) -> None:
        for sent, child in zip(held, mapped, strict=True):
            if child.consent is not None:
                await self._record_consent(sent, child)
            await self._gateway.submit(
                child.referral,
                kind=MessageKind.REFERRAL,
                recipient=self._recipient,
                thread_id=sent.thread_id,
                message_id=sent.message_id,
                by=self._sender,
            )

    async def _record_consent(self, sent: SentReferral, child: ChildReferral) -> None:
        # The gateway records consents (and refuses referrals citing none) once the consent
        # work is merged; until then the consent goes to the recipient as a consent message
        # ahead of the referral that cites it.
        record = getattr(self._gateway, "record_consent", None)
        if record is not None:
            await record(child.consent, by=self._sender)
            return
        assert child.consent is not None
        await self._gateway.submit(
            child.consent,
            kind=MessageKind.CONSENT,
            recipient=self._recipient,
            thread_id=sent.consent_thread_id,
            message_id=sent.consent_message_id,
            by=self._sender,
        )


def _count(answer: Answer) -> int:
    return len(answer.document.get("referrals", ()))
