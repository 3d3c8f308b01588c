"""Primero's API v2 for referrals and transfers, on the gateway's API (the thin I/O part).

Routes (all answer `{"data": ...}` and 200, even on create, as Primero does; failures
in Primero's form, `adapters.social.errors`):

    GET    /api/v2/cases                          cases held here: created here, received
    POST   /api/v2/cases                          create a case (kept sealed, `vault`)
    GET    /api/v2/cases/{id}
    GET    /api/v2/cases/{id}/referrals | /transfers
    POST   /api/v2/cases/{id}/referrals | /transfers
    POST   /api/v2/cases/referrals | /transfers   bulk, `data.ids`
    PATCH  /api/v2/cases/{id}/referrals/{rid}     accepted | rejected | done  (recipient)
    PATCH  /api/v2/cases/{id}/transfers/{tid}     accepted | rejected (recipient), revoked (sender)
    DELETE /api/v2/cases/{id}/referrals/{rid} | /transfers/{tid}  revoke (sender)

Sign-in is the gateway's (HTTP Basic for the people of its users file, a token for its
systems); what a role may do is checked here and refused in Primero's form. A received
case's id is its thread id; its body is opened only through `Gateway.read` with the
PRIMERO channel (the read recorded first). Everything a request sends is mapped and
validated before the first submit, a consent cited again checked against the register in
bulk: a refused request sends nothing (short of a withdrawal racing it). A consent from a
case's flags is recorded once per case, recipient and purpose, then cited again
(`adapters.social.consent`, docs/adapters.md `## social`).
"""

import asyncio
import json
import re
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from adapters.social import consent as consents
from adapters.social.cases import CaseFields, case_fields, fields_of
from adapters.social.errors import PrimeroError, conflict, forbidden, invalid, not_found
from adapters.social.settings import SocialSettings
from adapters.social.transitions import (
    DEFAULT_SERVICES,
    MAX_BULK_IDS,
    BulkRequest,
    PatchRequest,
    Status,
    TransitionRequest,
    answer_of,
    parsed,
    primero_service,
    recipient_of,
    referral_of,
    status_of_stage,
    status_of_state,
    transfer_of,
)
from adapters.social.vault import (
    MAX_TRANSITIONS,
    CaseConsent,
    CaseRecord,
    CaseUnreadable,
    CaseVault,
    SentTransition,
)
from adapters.social.views import CaseView, TransitionView, iso
from broker import lifecycle
from broker.envelope import EnvelopeError
from broker.gateway.adapter_port import AdapterContext
from broker.gateway.api import signed_in
from broker.gateway.consent_register import ConsentConflict
from broker.gateway.consent_rules import ConsentRefused, check_sharing, sharing_purpose
from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed
from broker.gateway.lifecycle import stage as inbox_stage
from broker.gateway.records import InboxMessage, ReadChannel, SentStatus
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch
from broker.gateway.users import GatewayUser, Permission, Role
from broker.lifecycle import Party, Stage
from broker.logs import get_logger
from schemas.acknowledgement import Acknowledgement
from schemas.common import SharingBasis
from schemas.consent import Consent
from schemas.ids import UUID4_PATTERN, new_thread_id
from schemas.kinds import AckStatus, MessageKind
from schemas.referral import Referral
from schemas.transfer import Transfer

log = get_logger(__name__)

_KINDS = {"referrals": MessageKind.REFERRAL, "transfers": MessageKind.TRANSFER}
_PAGE_MAX = 1000
_SCAN_PAGE = 500


class PrimeroRoute(APIRoute):
    """A route whose PrimeroError becomes Primero's error document for the request's path."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PrimeroError as error:
                return JSONResponse(error.document(request.url.path), error.status)

        return handle


def _user(request: Request, permission: Permission) -> GatewayUser:
    user = signed_in(request)
    if not user.may(permission):
        raise forbidden()
    return user


async def _data(request: Request) -> Any:
    """The request's `data` object; Primero answers 422 when it is missing."""
    try:
        document = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise invalid("data", "errors.api.bad_request") from None
    if not isinstance(document, dict) or "data" not in document:
        raise invalid("data", "errors.api.data_missing")
    return document["data"]


def _id(value: str) -> str:
    if re.fullmatch(UUID4_PATTERN, value) is None:
        raise not_found()
    return value


@dataclass(frozen=True)
class Received:
    """A referral or transfer this agency received: a case here, its body opened on demand."""

    message: InboxMessage

    @property
    def case_id(self) -> str:
        return self.message.thread_id


@dataclass(frozen=True)
class Outgoing:
    """A case created here, opened from the vault."""

    record: CaseRecord


@dataclass(frozen=True)
class _Send:
    """One case's send, planned: the body, and the consent to record first (None: it cites
    a consent recorded before, `reused`, or goes under a lawful basis)."""

    record: CaseRecord
    recipient: str
    body: Referral | Transfer
    consent: Consent | None = None
    note: CaseConsent | None = None  # the consent, as the case keeps it once sent
    reused: bool = False


def _today(seconds: float) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


class SocialAdapter:
    """Primero's referral and transfer API, answering from this gateway."""

    name = "social"

    def __init__(self, settings: SocialSettings, context: AdapterContext) -> None:
        self._gateway = context.gateway
        self._clock = context.clock
        self._settings = settings
        self._services = {**DEFAULT_SERVICES, **settings.services}
        self.vault = CaseVault(context.gateway.sealer.keys, settings.folder(context.folder))
        self._writing = asyncio.Lock()  # one update of a case record at a time

    def self_authenticated_paths(self) -> Collection[str]:
        return ()

    async def start(self) -> None:
        count = await asyncio.to_thread(self.vault.load)
        log.info("primero cases loaded", count=count)

    async def stop(self) -> None:
        pass

    # -- finding cases --------------------------------------------------------------

    async def _received(self) -> list[InboxMessage]:
        """Received referrals and transfers, newest first, up to `max_cases`."""
        found: list[InboxMessage] = []
        for kind in _KINDS.values():
            offset = 0
            while offset < self._settings.max_cases:
                page = await self._gateway.store.inbox(
                    kind=kind.value, limit=_SCAN_PAGE, offset=offset
                )
                found += page
                if len(page) < _SCAN_PAGE:
                    break
                offset += _SCAN_PAGE
        found.sort(key=lambda m: m.received_at, reverse=True)
        return found[: self._settings.max_cases]

    async def _case(self, case_id: str) -> Received | Outgoing:
        _id(case_id)
        if case_id in self.vault:
            record = self._open(case_id)
            if record is not None:
                return Outgoing(record)
        for message in await self._received():
            if message.thread_id == case_id:
                return Received(message)
        raise not_found()

    def _open(self, case_id: str) -> CaseRecord | None:
        try:
            return self.vault.get(case_id)
        except CaseUnreadable as error:
            raise PrimeroError(500, "Internal Server Error") from error

    async def _read(self, message: InboxMessage, user: GatewayUser) -> Referral | Transfer:
        try:
            _, body = await self._gateway.read(message.message_id, user, ReadChannel.PRIMERO)
        except KeyError:
            raise not_found() from None
        except BodyErased:
            raise PrimeroError(410, "Gone") from None
        except (EnvelopeError, StoredEnvelopeMismatch) as error:
            raise PrimeroError(500, "Internal Server Error") from error
        if not isinstance(body, Referral | Transfer):
            raise not_found()
        return body

    # -- views ----------------------------------------------------------------------

    async def _sent(self, record: CaseRecord) -> list[tuple[SentTransition, SentStatus | None]]:
        return [(t, await self._gateway.store.sent_message(t.id)) for t in record.transitions]

    def _sent_view(
        self, record: CaseRecord, t: SentTransition, s: SentStatus | None
    ) -> TransitionView:
        return TransitionView(
            id=t.id,
            kind=t.kind,
            status=status_of_stage(s.stage if s else None),
            record_id=record.id,
            recipient=t.recipient,
            transitioned_by=t.by,
            sender_agency=self._gateway.agency_id,
            created_at=t.created_at,
            service=t.service,
            notes=t.notes,
            consent_overridden=t.consent_overridden,
            responded_at=s.answered_at if s else None,
        )

    def _received_view(self, message: InboxMessage, body: Referral | Transfer) -> TransitionView:
        if isinstance(body, Referral):
            service = primero_service(body.requested_service, body.requested_service_detail)
            notes = body.narrative
        else:
            service, notes = None, body.case_summary
        status = status_of_state(message.state)
        return TransitionView(
            id=message.message_id,
            kind=message.kind,
            status=status,
            record_id=message.thread_id,
            recipient=self._gateway.agency_id,
            transitioned_by=message.sender,
            sender_agency=message.sender,
            created_at=message.received_at,
            service=service,
            notes=notes,
            consent_overridden=body.lawful_basis is not None,
            can_answer=status is Status.IN_PROGRESS,
        )

    async def _outgoing_case(self, record: CaseRecord) -> CaseView:
        sent = await self._sent(record)
        taken = [
            t.recipient
            for t, s in sent
            if t.kind == MessageKind.TRANSFER and s is not None and s.stage in lifecycle.TAKEN
        ]
        updated = max([record.created_at, *(s.answered_at or 0 for _, s in sent if s)])
        return CaseView(
            id=record.id,
            fields=record.fields,
            owned_by_agency=taken[-1] if taken else self._gateway.agency_id,
            transferred=bool(taken),
            created_at=record.created_at,
            updated_at=updated,
        )

    def _received_case(self, message: InboxMessage, body: Referral | Transfer) -> CaseView:
        shown = inbox_stage(message.state)
        mine = message.kind == MessageKind.TRANSFER and shown in lifecycle.TAKEN
        return CaseView(
            id=message.thread_id,
            fields=fields_of(body.subject, _today(self._clock())),
            owned_by_agency=self._gateway.agency_id if mine else message.sender,
            transferred=False,
            created_at=message.received_at,
            updated_at=message.received_at,
        )

    async def _case_view(self, case: Received | Outgoing, user: GatewayUser) -> CaseView:
        if isinstance(case, Outgoing):
            return await self._outgoing_case(case.record)
        return self._received_case(case.message, await self._read(case.message, user))

    # -- sending --------------------------------------------------------------------

    def _body(
        self,
        fields: CaseFields,
        kind: MessageKind,
        request: TransitionRequest,
        basis: SharingBasis,
        user: GatewayUser,
    ) -> Referral | Transfer:
        if kind is MessageKind.REFERRAL:
            return referral_of(
                fields, request, basis=basis, by=user.worker, services=self._services
            )
        return transfer_of(fields, request, basis=basis, by=user.worker)

    def _plan(
        self, record: CaseRecord, kind: MessageKind, request: TransitionRequest, user: GatewayUser
    ) -> _Send:
        """What sending from one case takes (its body, a consent to record); sends nothing."""
        if len(record.transitions) >= MAX_TRANSITIONS:
            # The record would no longer open with one more (its schema's bound).
            raise conflict("transition.errors.too_many_transitions", "record_id")
        recipient = recipient_of(request)
        if self._gateway.sealer.directory.agency(recipient) is None:
            # Checked before anything is recorded: the seal would refuse it afterwards.
            raise invalid("transitioned_to", "transition.errors.to_user_can_receive")
        if request.consent_overridden:
            basis = consents.override(
                request.notes, supervisor=user.role is Role.SUPERVISOR, by=user.worker
            )
            return _Send(record, recipient, self._body(record.fields, kind, request, basis, user))
        if not consents.consented(record.fields, kind):
            raise consents.refused("transition.errors.consent")
        # The purpose is the gateway's, derived from the body (an assessment is not service
        # provision): the consent must cover what the rules will check.
        draft = self._body(record.fields, kind, request, consents.PENDING, user)
        purpose = sharing_purpose(kind, draft)
        recorded = record.consent_for(recipient, purpose.value)
        if recorded is not None:
            # The case's flags gave this consent once; cited again, it stays under the
            # register's rules (a withdrawal or its expiry refuses the send).
            return _Send(record, recipient, consents.citing(draft, recorded), reused=True)
        today = _today(self._clock())
        consent = consents.consent_of(
            record.fields,
            kind=kind,
            purpose=purpose,
            recipient=recipient,
            consent_id=consents.consent_id_of(record.id, recipient, purpose, today),
            today=today,
            valid_days=self._settings.consent_days,
            by=user.worker,
        )
        note = CaseConsent(
            consent_id=consent.consent_id, recipient=recipient, purpose=purpose.value
        )
        body = consents.citing(draft, consent.consent_id)
        return _Send(record, recipient, body, consent=consent, note=note)

    async def _check_reused(self, plans: list[_Send], kind: MessageKind) -> None:
        """Refuse a bulk request before its first send if a consent it cites again would be
        refused (withdrawn, expired): the gateway's own rule, over its register."""
        for plan in plans:
            if not plan.reused or plan.body.consent_ref is None:
                continue
            listed = self._gateway.sealer.directory.agency(plan.recipient)
            try:
                check_sharing(
                    plan.body,
                    kind=kind,
                    recipient=plan.recipient,
                    recipient_kind=listed.kind if listed is not None else None,
                    consent=await self._gateway.store.consent(plan.body.consent_ref),
                    supervisors=(),
                    today=_today(self._clock()),
                )
            except ConsentRefused as error:
                raise consents.refused_by_gateway(error.reason) from error

    async def _send(
        self, kind: MessageKind, case_ids: list[str], request: TransitionRequest, user: GatewayUser
    ) -> list[dict[str, Any]]:
        views = []
        # Under the lock from the first read: each case is opened once, and is still the
        # current version when it is sealed again with what was sent.
        async with self._writing:
            records = []
            for case_id in case_ids:
                case = await self._case(case_id)
                if not isinstance(case, Outgoing):
                    # A case received here goes on only as a case of this agency's own.
                    raise conflict("transition.errors.not_owner", "record_id")
                records.append(case.record)
            # Map and validate every case before the first submit: a refusal sends nothing.
            plans = [self._plan(record, kind, request, user) for record in records]
            if len(plans) > 1:
                await self._check_reused(plans, kind)
            for plan in plans:
                try:
                    if plan.consent is not None:
                        await self._gateway.record_consent(plan.consent, by=user)
                    entry = await self._gateway.submit(
                        plan.body,
                        kind=kind,
                        recipient=plan.recipient,
                        thread_id=new_thread_id(),
                        by=user,
                    )
                except EnvelopeError as error:
                    raise invalid(
                        "transitioned_to", "transition.errors.to_user_can_receive"
                    ) from error
                except ConsentRefused as error:
                    raise consents.refused_by_gateway(error.reason) from error
                except ConsentConflict as error:
                    # Recorded today from this case with other dates (consent_days changed).
                    raise conflict("transition.errors.consent_conflict", "consent") from error
                sent = SentTransition(
                    id=entry.message_id,
                    thread_id=entry.thread_id,
                    kind=kind.value,
                    recipient=plan.recipient,
                    service=request.service,
                    notes=request.notes,
                    consent_overridden=request.consent_overridden,
                    created_at=entry.created_at,
                    by=user.name,
                )
                updated = plan.record.model_copy(
                    update={
                        "transitions": [*plan.record.transitions, sent],
                        "consents": [*plan.record.consents, *([plan.note] if plan.note else [])],
                    }
                )
                await asyncio.to_thread(self.vault.put, updated)
                views.append(self._sent_view(updated, sent, None).document())
        return views

    async def _withdraw(self, sent: SentTransition, user: GatewayUser) -> None:
        status = await self._gateway.store.sent_message(sent.id)
        stage = status.stage if status and status.stage else Stage.SENT
        if not lifecycle.allows(sent.kind, stage, Party.SENDER, Stage.WITHDRAWN):
            raise conflict("transition.errors.revoke_not_allowed")
        withdrawal = Acknowledgement(
            status=AckStatus.WITHDRAWN, answers=sent.id, responded_by=user.worker
        )
        await self._gateway.submit(
            withdrawal,
            kind=MessageKind.ACKNOWLEDGEMENT,
            recipient=sent.recipient,
            thread_id=sent.thread_id,
            by=user,
        )

    async def _answer(
        self, message: InboxMessage, patch: PatchRequest, user: GatewayUser
    ) -> InboxMessage:
        answer = answer_of(MessageKind(message.kind), patch, message.message_id, user.worker)
        try:
            return await self._gateway.respond(message.message_id, answer, by=user)
        except KeyError:
            raise not_found() from None
        except (TransitionNotAllowed, AnswerMismatch) as error:
            raise conflict("transition.errors.not_allowed") from error

    # -- routes ---------------------------------------------------------------------

    def router(self) -> APIRouter:
        router = APIRouter(route_class=PrimeroRoute, tags=["primero"])

        @router.get("/api/v2/cases")
        async def list_cases(
            request: Request, page: int = 1, per: int = 20, case_id: str | None = None
        ) -> dict[str, Any]:
            user = _user(request, Permission.READ)
            if page < 1 or not 1 <= per <= _PAGE_MAX:
                raise invalid("per" if page >= 1 else "page", "errors.api.bad_request")
            cases: list[tuple[float, Received | Outgoing]] = []
            for own in self.vault.ids():
                record = self._open(own)
                if record is not None and case_id in (None, record.id, record.fields.case_id):
                    cases.append((record.created_at, Outgoing(record)))
            for message in await self._received():
                if case_id in (None, message.thread_id):
                    cases.append((message.received_at, Received(message)))
            cases.sort(key=lambda pair: pair[0], reverse=True)
            shown = cases[(page - 1) * per : page * per]
            data = [(await self._case_view(case, user)).document() for _, case in shown]
            return {"data": data, "metadata": {"total": len(cases), "per": per, "page": page}}

        @router.post("/api/v2/cases")
        async def create_case(request: Request) -> dict[str, Any]:
            user = _user(request, Permission.SEND)
            fields = case_fields(await _data(request))
            now = self._clock()
            record = CaseRecord(
                id=new_thread_id(), fields=fields, created_at=now, created_by=user.name
            )
            async with self._writing:
                await asyncio.to_thread(self.vault.put, record)
            return {"data": (await self._outgoing_case(record)).document()}

        @router.get("/api/v2/cases/{case_id}")
        async def show_case(case_id: str, request: Request) -> dict[str, Any]:
            user = _user(request, Permission.READ)
            return {"data": (await self._case_view(await self._case(case_id), user)).document()}

        @router.post("/api/v2/cases/{kinds}")
        async def bulk(kinds: str, request: Request) -> dict[str, Any]:
            kind = _KINDS.get(kinds)
            if kind is None:
                raise not_found()
            user = _user(request, Permission.SEND)
            asked = parsed(BulkRequest, await _data(request))
            if len(asked.ids) > MAX_BULK_IDS:
                raise invalid("ids", "errors.api.too_many_ids")
            ids = list(dict.fromkeys(_id(case_id) for case_id in asked.ids))
            return {"data": await self._send(kind, ids, asked, user)}

        @router.get("/api/v2/cases/{case_id}/{kinds}")
        async def list_transitions(case_id: str, kinds: str, request: Request) -> dict[str, Any]:
            kind = _KINDS.get(kinds)
            if kind is None:
                raise not_found()
            user = _user(request, Permission.READ)
            case = await self._case(case_id)
            if isinstance(case, Outgoing):
                data = [
                    self._sent_view(case.record, t, s).document()
                    for t, s in await self._sent(case.record)
                    if t.kind == kind
                ]
            elif case.message.kind == kind:
                body = await self._read(case.message, user)
                data = [self._received_view(case.message, body).document()]
            else:
                data = []
            return {"data": data}

        @router.post("/api/v2/cases/{case_id}/{kinds}")
        async def create_transition(case_id: str, kinds: str, request: Request) -> dict[str, Any]:
            kind = _KINDS.get(kinds)
            if kind is None:
                raise not_found()
            user = _user(request, Permission.SEND)
            asked = parsed(TransitionRequest, await _data(request))
            return {"data": (await self._send(kind, [_id(case_id)], asked, user))[0]}

        @router.patch("/api/v2/cases/{case_id}/{kinds}/{transition_id}")
        async def update_transition(
            case_id: str, kinds: str, transition_id: str, request: Request
        ) -> dict[str, Any]:
            kind = _KINDS.get(kinds)
            if kind is None:
                raise not_found()
            case = await self._case(case_id)
            patch = parsed(PatchRequest, await _data(request))
            if isinstance(case, Outgoing):
                # The sender's only move is to revoke (Primero: PATCH revoked, transfers).
                user = _user(request, Permission.SEND)
                sent = self._sent_one(case.record, transition_id, kind)
                if patch.status != Status.REVOKED:
                    raise conflict("transition.errors.only_recipient_answers")
                await self._withdraw(sent, user)
                status = await self._gateway.store.sent_message(sent.id)
                return {"data": self._sent_view(case.record, sent, status).document()}
            user = _user(request, Permission.ANSWER)
            if case.message.message_id != transition_id or case.message.kind != kind:
                raise not_found()
            if patch.status == Status.REVOKED:
                raise conflict("transition.errors.only_sender_revokes")
            moved = await self._answer(case.message, patch, user)
            body = await self._read(moved, user)
            view = self._received_view(moved, body).document()
            view["responded_at"] = iso(self._clock())
            if patch.rejected_reason:
                view["rejected_reason"] = patch.rejected_reason
            if patch.rejection_note:
                view["rejection_note"] = patch.rejection_note
            return {"data": view}

        @router.delete("/api/v2/cases/{case_id}/{kinds}/{transition_id}")
        async def revoke(
            case_id: str, kinds: str, transition_id: str, request: Request
        ) -> dict[str, Any]:
            kind = _KINDS.get(kinds)
            if kind is None:
                raise not_found()
            user = _user(request, Permission.SEND)
            case = await self._case(case_id)
            if not isinstance(case, Outgoing):
                raise conflict("transition.errors.only_sender_revokes")
            sent = self._sent_one(case.record, transition_id, kind)
            await self._withdraw(sent, user)
            status = await self._gateway.store.sent_message(sent.id)
            return {"data": self._sent_view(case.record, sent, status).document()}

        return router

    @staticmethod
    def _sent_one(record: CaseRecord, transition_id: str, kind: MessageKind) -> SentTransition:
        for sent in record.transitions:
            if sent.id == transition_id and sent.kind == kind:
                return sent
        raise not_found()
