"""The FHIR endpoint on the gateway's API, under /fhir (I/O: HTTP and the gateway).

    GET  /fhir/metadata          the CapabilityStatement
    POST /fhir, /fhir/Bundle     a transaction Bundle: one referral -> transaction-response
    POST /fhir/Task              one Task, its resources contained -> 201, Location, the Task
    GET  /fhir/Task              search: status, _lastUpdated, _count -> searchset Bundle
    GET  /fhir/Task/{id}         one Task, received (whole) or sent (status only)
    PUT  /fhir/Task/{id}         answer a received referral, or withdraw a sent one

The routes sit behind the gateway's sign-in (the hospital's system token); what a user may
do is the users file's: send to post, read to search and read, answer to update a received
Task (send to withdraw a sent one). Every refusal is an OperationOutcome
(`application/fhir+json`, outcome.py), never repeating the request's content. A Task's id
is the Caselink message id of its referral, so it is stable and the same at both ends.
"""

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.task import Task

from adapters.health.answers import performer_answer, requester_answer
from adapters.health.bundles import (
    consent_uncited,
    searchset,
    transaction_entries,
    transaction_response,
)
from adapters.health.capability import capability_statement
from adapters.health.mapping import (
    InboundReferral,
    TaskFacts,
    referral_to_task,
    task_to_referral,
)
from adapters.health.outcome import (
    FHIR_JSON,
    ConsentClash,
    FhirRefusal,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    RuleBroken,
    SharingRefused,
    Unparseable,
    UnsupportedMediaType,
    WrongResource,
    operation_outcome,
)
from adapters.health.resources import Json, Resources, validated
from adapters.health.search import parse_query
from adapters.health.settings import HealthSettings
from adapters.health.tasks import TaskBook, one_task, received_stage, sent_stage
from adapters.health.times import instant
from adapters.health.vocabulary import TaskStatus
from broker.envelope import EnvelopeError
from broker.gateway.api import signed_in
from broker.gateway.consent_register import ConsentConflict, record_of
from broker.gateway.consent_rules import (
    CONSENT_BASIS_WITHOUT_CONSENT,
    NOT_AUTHORISED,
    ConsentRefused,
    check_sharing,
)
from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed
from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser, Permission
from broker.logs import get_logger
from schemas.ids import new_message_id
from schemas.kinds import AgencyKind, MessageKind

log = get_logger(__name__)

_MEDIA_TYPES = frozenset({FHIR_JSON, "application/json"})


class HttpRefusal(FhirRefusal):
    """FastAPI's own refusal (a sign-in missing, say), told as an OperationOutcome."""

    reason = "fhir_http"
    code = "processing"

    def __init__(self, error: HTTPException) -> None:
        super().__init__(str(error.detail))
        self.status = error.status_code


class FhirRoute(APIRoute):
    """A route whose refusals, its own and FastAPI's, are OperationOutcomes."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirRefusal as refusal:
                return refused(refusal)
            except HTTPException as error:
                return refused(HttpRefusal(error))
            except RequestValidationError:
                return refused(WrongResource("the request's parameters are not valid"))

        return answer


def refused(refusal: FhirRefusal) -> JSONResponse:
    """The OperationOutcome answering `refusal`, with its status."""
    log.info("fhir refused", reason=refusal.reason, status=refusal.status)
    return fhir_response(operation_outcome(refusal), refusal.status)


def fhir_response(resource: Json, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(resource, status, headers=headers or None, media_type=FHIR_JSON)


def user_who_may(request: Request, permission: Permission) -> GatewayUser:
    """The signed-in user, when their role grants `permission`; raises Forbidden."""
    user = signed_in(request)
    if not user.may(permission):
        raise Forbidden(f"a {user.role.value} may not {permission.value}")
    return user


async def json_body(request: Request) -> Any:
    """The request's JSON; raises Unparseable (400) and a 415 for another media type."""
    media_type = request.headers.get("content-type", FHIR_JSON).split(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise UnsupportedMediaType("send application/fhir+json")
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError):
        raise Unparseable("the body is not JSON") from None


class FhirEndpoint:
    """The routes, over one gateway."""

    def __init__(
        self, gateway: Gateway, settings: HealthSettings, clock: Callable[[], float]
    ) -> None:
        self._gateway = gateway
        self._settings = settings
        self._clock = clock
        self._book = TaskBook(gateway, scan_limit=settings.scan_limit)

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/fhir", route_class=FhirRoute, tags=["fhir"])
        router.add_api_route("/metadata", self.metadata, methods=["GET"])
        router.add_api_route("", self.transaction, methods=["POST"])
        router.add_api_route("/Bundle", self.transaction, methods=["POST"])
        router.add_api_route("/Task", self.create_task, methods=["POST"])
        router.add_api_route("/Task", self.search, methods=["GET"])
        router.add_api_route("/Task/{task_id}", self.read, methods=["GET"])
        router.add_api_route("/Task/{task_id}", self.update, methods=["PUT"])
        router.add_api_route(
            "/{rest:path}", self.unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        )
        return router

    async def metadata(self, request: Request) -> Response:
        """The CapabilityStatement of this endpoint."""
        statement = capability_statement(date=instant(self._clock()), base=_base(request))
        return fhir_response(statement)

    async def transaction(self, request: Request) -> Response:
        """A transaction Bundle carrying one referral: all of it is sent, or nothing."""
        user = user_who_may(request, Permission.SEND)
        bundle = validated(Bundle, await json_body(request), "Bundle")
        task, entries = transaction_entries(bundle, max_entries=self._settings.max_bundle_entries)
        inbound = task_to_referral(task, Resources(task, entries), new_consent_id=new_message_id())
        consent_uncited(entries, cited=inbound.consent is not None)
        created = await self._send(inbound, user, request)
        return fhir_response(transaction_response(entries, f"Task/{created['id']}"))

    async def create_task(self, request: Request) -> Response:
        """One Task, its resources contained: 201 with Location and the Task."""
        user = user_who_may(request, Permission.SEND)
        task = validated(Task, await json_body(request), "Task")
        inbound = task_to_referral(task, Resources(task), new_consent_id=new_message_id())
        created = await self._send(inbound, user, request)
        location = f"{_base(request)}/Task/{created['id']}"
        return fhir_response(created, 201, Location=location)

    async def search(self, request: Request) -> Response:
        """Referrals received and sent, as a searchset Bundle of whole Tasks."""
        user = user_who_may(request, Permission.READ)
        query = parse_query(
            request.query_params.multi_items(),
            default_count=self._settings.page_size,
            max_count=self._settings.max_page_size,
        )
        tasks = await self._book.show(await self._book.search(query), user)
        base = _base(request)
        return fhir_response(
            searchset(tasks, base=base, self_link=f"{base}/Task?{query.self_query()}")
        )

    async def read(self, task_id: str, request: Request) -> Response:
        """One Task."""
        user = user_who_may(request, Permission.READ)
        return fhir_response(await one_task(self._book, task_id, user))

    async def update(self, task_id: str, request: Request) -> Response:
        """A received referral answered (performer), or a sent one withdrawn (requester)."""
        user = user_who_may(request, Permission.READ)
        task = validated(Task, await json_body(request), "Task")
        if task.get("id") != task_id:
            raise WrongResource("Task.id must be the id in the URL", expression="Task.id")
        found = await self._book.find(task_id)
        if found is None:
            # R4: 405 for an update that would create, where the server assigns ids.
            raise MethodNotAllowed("no such Task: Tasks are created by POST")
        if found.received is not None:
            received = found.received
            ack = performer_answer(
                task,
                answers=task_id,
                kind=received.kind,
                current=received_stage(received),
                responder=user_who_may(request, Permission.ANSWER).worker,
            )
            if ack is not None:
                try:
                    await self._gateway.respond(task_id, ack, by=user)
                except (TransitionNotAllowed, AnswerMismatch) as error:
                    raise RuleBroken(f"the referral cannot move so ({error.reason})") from None
                except EnvelopeError as error:  # the sender's key revoked or expired, say
                    raise RuleBroken(f"the answer cannot be sealed ({error.reason})") from None
        else:
            assert found.sent is not None
            sent = found.sent.message
            ack = requester_answer(
                task,
                answers=task_id,
                kind=sent.kind,
                current=sent_stage(found.sent),
                responder=user_who_may(request, Permission.SEND).worker,
            )
            if ack is not None:
                try:
                    await self._gateway.submit(
                        ack,
                        kind=MessageKind.ACKNOWLEDGEMENT,
                        recipient=sent.recipient,
                        thread_id=sent.thread_id,
                        by=user,
                    )
                except EnvelopeError as error:
                    raise RuleBroken(f"the withdrawal cannot be sealed ({error.reason})") from None
        return fhir_response(await one_task(self._book, task_id, user))

    async def unknown(self, rest: str, request: Request) -> Response:
        """404 for a resource type not served here; 405 for a method Task does not take."""
        if rest.split("/")[0] == "Task":
            raise MethodNotAllowed(f"{request.method} is not supported on Task")
        raise NotFound("this endpoint serves Task, transactions and metadata only")

    async def _send(self, inbound: InboundReferral, user: GatewayUser, request: Request) -> Json:
        gateway = self._gateway
        listed = gateway.sealer.directory.agency(inbound.recipient)
        if inbound.recipient == gateway.agency_id or listed is None:
            raise RuleBroken(
                "Task.owner names no other agency in the directory", expression="Task.owner"
            )
        if inbound.consent is not None:
            await self._record(inbound, listed.kind, user)
        try:
            entry = await gateway.submit(
                inbound.referral, kind=MessageKind.REFERRAL, recipient=inbound.recipient, by=user
            )
        except ConsentRefused as refusal:
            raise _refused(refusal.reason) from None
        except EnvelopeError as error:
            raise RuleBroken(f"the referral cannot be sealed ({error.reason})") from None
        return referral_to_task(
            inbound.referral,
            TaskFacts(
                task_id=entry.message_id,
                thread_id=entry.thread_id,
                status=TaskStatus.REQUESTED.value,
                owner=inbound.recipient,
                sender=gateway.agency_id,
                authored_on=entry.created_at,
                last_updated=entry.created_at,
            ),
        )

    async def _record(self, inbound: InboundReferral, kind: AgencyKind, user: GatewayUser) -> None:
        """Record the request's Consent in the register, once the referral may go under it.

        The gateway's own rules are applied to the Consent as sent before it is recorded:
        a transaction is all or nothing, so a referral its Consent does not allow (another
        recipient or purpose, out of date, a denying provision) leaves no consent behind.
        `submit` checks again against the register, which stays the authority.
        """
        consent = inbound.consent
        assert consent is not None
        if not user.may(Permission.CONSENT):
            raise Forbidden(f"a {user.role.value} may not {Permission.CONSENT.value}")
        try:
            check_sharing(
                inbound.referral,
                kind=MessageKind.REFERRAL,
                recipient=inbound.recipient,
                recipient_kind=kind,
                consent=record_of(consent, sealed=b"", by=user.name, at=self._clock()),
                supervisors=(),  # a cited consent: no lawful basis to authorise
                today=datetime.fromtimestamp(self._clock(), UTC).date(),
            )
        except ConsentRefused as refusal:
            raise _refused(refusal.reason) from None
        try:
            await self._gateway.record_consent(consent, by=user)
        except ConsentConflict:
            raise ConsentClash(
                "the Consent's identifier is recorded with another content, or withdrawn: "
                "send a new Consent",
                expression="Consent.identifier",
            ) from None
        except EnvelopeError as error:
            raise RuleBroken(f"the Consent cannot be sealed ({error.reason})") from None


def _refused(reason: str) -> SharingRefused:
    # A lawful basis is the Task's extension; every other reason is about the cited Consent.
    lawful = reason in {CONSENT_BASIS_WITHOUT_CONSENT, NOT_AUTHORISED}
    where = "Task.extension" if lawful else "ServiceRequest.supportingInfo"
    return SharingRefused(reason, expression=where)


def _base(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}/fhir"
