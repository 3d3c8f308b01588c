"""The gateway's local HTTP API for the agency's staff and systems (OpenAPI at /openapi.json).

/healthz is public (status and counts only); /metrics takes the metrics token, a secret of
its own, so that a monitoring system holds no credential of the agency's API. Every other
route but the OpenAPI document needs a user from the users file:
people by HTTP Basic, systems by a Bearer token, checked before the request body is read
(broker.gateway.auth_middleware, broker.gateway.signin). What each role may do is
`broker.gateway.users.PERMISSIONS`; a route a role may not use answers 403. Answers name the
signed-in user as `responded_by`; every body opened goes through `Gateway.read`, which
records who read it, opens the sealed envelope then, and answers 410 once it is erased.
Submissions answer 202 once the sealed message is committed to the outbox; with an
`Idempotency-Key` header, a retry answers the first answer again (`gateway.idempotency`).
A referral or transfer the consent rules refuse answers 422 with `detail` (one line of ids
and categories) and `reason` (the rule's slug, `gateway.consent_rules`); nothing is sent.
Two consent resources: `POST /v1/consents` SENDS a consent message to one agency (to tell
it); `/v1/consents/records` is this agency's own consent REGISTER, which the sending rules
read: record (201), list and show (ids, categories, dates, states: never whose consent),
and withdraw (`POST /v1/consents/records/{id}/withdraw`, 202: every agency that received
data under it is sent the withdrawal). Recording the same consent id again is allowed only
as `gateway.consent_register` says (409 otherwise).
Invalid input answers 422 with field locations and messages, never echoing values or
unknown keys. A body over the cap answers 413 (broker/http_edge/). No /docs or /redoc:
FastAPI's pages load Swagger UI and ReDoc from a CDN, with an inline script.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broker import lifecycle
from broker.background import close_within
from broker.envelope import EnvelopeError
from broker.gateway.adapter_port import Adapter
from broker.gateway.auth_middleware import SCOPE_USER, AuthenticationMiddleware
from broker.gateway.config import MAX_REQUEST_BYTES
from broker.gateway.consent_register import ConsentConflict, ConsentNotRecorded
from broker.gateway.consent_rules import ConsentRefused
from broker.gateway.idempotency import (
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    checked_key,
    request_hash,
    scoped_key,
)
from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed
from broker.gateway.metrics import CONTENT_TYPE_LATEST
from broker.gateway.pages_port import REFERRER_POLICY as PAGES_REFERRER_POLICY
from broker.gateway.pages_port import Pages, SessionDoor
from broker.gateway.records import (
    ConsentRecord,
    InboxMessage,
    InboxState,
    OutboxMessage,
    ReadChannel,
    ReadRecord,
    SentStatus,
    SignInRecord,
)
from broker.gateway.service import Gateway
from broker.gateway.signin import SignIn
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch
from broker.gateway.users import GatewayUser, Permission
from broker.http_edge import harden
from broker.keystore import token_matches
from broker.lifecycle import Stage
from broker.people.throttle import SignInThrottle
from schemas.acknowledgement import Acknowledgement, AckReason, AckReasonCategory, Outcome
from schemas.common import ConsentId, Text
from schemas.consent import Consent
from schemas.field_errors import field_errors
from schemas.header import UnixSeconds
from schemas.ids import AgencyId, MessageId, ThreadId
from schemas.kinds import AckStatus, ConsentStatus, MessageKind
from schemas.referral import Referral
from schemas.transfer import Transfer

# Paths served to anyone: probes, and the API's own description (no data in either).
OPEN_PATHS = frozenset({"/healthz", "/metrics", "/openapi.json"})  # /docs and /redoc are off

BodyT = TypeVar("BodyT", bound=BaseModel)


class Submission(BaseModel, Generic[BodyT]):
    """A body to send to one agency; a new thread unless `thread_id` continues one."""

    model_config = ConfigDict(extra="forbid")

    recipient: AgencyId
    thread_id: ThreadId | None = None
    respond_by: UnixSeconds | None = Field(default=None, description="Unix seconds")
    body: BodyT


class Accepted(BaseModel):
    message_id: MessageId
    thread_id: ThreadId


class InboxSummary(BaseModel):
    message_id: str
    thread_id: str
    kind: str
    sender: str
    state: InboxState
    status: str | None
    urgency: str | None
    in_reply_to: str | None
    received_at: float
    erased_at: float | None = Field(default=None, description="when its body was erased")

    @classmethod
    def of(cls, m: InboxMessage) -> "InboxSummary":
        return cls(
            message_id=m.message_id,
            thread_id=m.thread_id,
            kind=m.kind,
            sender=m.sender,
            state=m.state,
            status=m.status,
            urgency=m.urgency,
            in_reply_to=m.in_reply_to,
            received_at=m.received_at,
            erased_at=m.erased_at,
        )


class InboxItem(InboxSummary):
    body: dict[str, Any]


class SentItem(BaseModel):
    message_id: str
    thread_id: str
    kind: str
    recipient: str
    created_at: float
    sent_at: float | None = Field(description="when RabbitMQ confirmed it")
    delivered_at: float | None = Field(description="when its `received` ack arrived")
    answer: str | None
    answered_at: float | None
    stage: Stage | None = Field(description="where the thread stands (None for consents)")
    holder: str | None = Field(
        description="a transfer: the agency holding the case now; this agency's own id until "
        "the recipient accepts (pending), again after a decline (None for other kinds)"
    )
    reason_category: AckReasonCategory | None = Field(
        description="declined or redirected: the recipient's reason category; its text is in "
        "the answer's body (GET /v1/inbox/{answer id}, recorded)"
    )
    sent_by: str | None = Field(description="the signed-in user who sent it")

    @classmethod
    def of(cls, s: SentStatus, agency: str) -> "SentItem":
        """The view of `s` at the gateway of `agency` (its sender)."""
        m: OutboxMessage = s.message
        return cls(
            message_id=m.message_id,
            thread_id=m.thread_id,
            kind=m.kind,
            recipient=m.recipient,
            created_at=m.created_at,
            sent_at=m.sent_at,
            delivered_at=s.delivered_at,
            answer=s.answer,
            answered_at=s.answered_at,
            stage=s.stage,
            holder=lifecycle.agency_of(s.holder, agency, m.recipient),
            reason_category=_category(s.reason_category),
            sent_by=m.author,
        )


def _category(value: str | None) -> AckReasonCategory | None:
    # An unknown category (a later version's vocabulary) is not shown rather than refused.
    try:
        return None if value is None else AckReasonCategory(value)
    except ValueError:
        return None


class ReadItem(BaseModel):
    """One opening of a received message's body."""

    message_id: str
    thread_id: str
    reader: str
    channel: ReadChannel
    read_at: float

    @classmethod
    def of(cls, r: ReadRecord) -> "ReadItem":
        return cls(
            message_id=r.message_id,
            thread_id=r.thread_id,
            reader=r.reader,
            channel=r.channel,
            read_at=r.at,
        )


class SignInItem(BaseModel):
    """One sign-in to this API; `name` is None for a name nobody holds."""

    at: float
    address: str
    method: str
    outcome: str
    name: str | None

    @classmethod
    def of(cls, s: SignInRecord) -> "SignInItem":
        return cls(at=s.at, address=s.address, method=s.method, outcome=s.outcome, name=s.name)


class ConsentSummary(BaseModel):
    """One consent of the register: ids, categories, dates and state, never whose consent."""

    consent_id: str
    status: ConsentStatus
    valid_from: date
    valid_until: date
    agencies: list[str]
    agency_kinds: list[str]
    purposes: list[str]
    data_categories: list[str]
    giver: str = Field(description="the giver's relation to the child, or court_order")
    recorded_at: float
    recorded_by: str = Field(description="the signed-in user who recorded it")
    withdrawn_at: float | None

    @classmethod
    def of(cls, c: ConsentRecord) -> "ConsentSummary":
        return cls(
            consent_id=c.consent_id,
            status=ConsentStatus(c.status),
            valid_from=c.valid_from,
            valid_until=c.valid_until,
            agencies=list(c.agencies),
            agency_kinds=list(c.agency_kinds),
            purposes=list(c.purposes),
            data_categories=list(c.data_categories),
            giver=c.giver,
            recorded_at=c.recorded_at,
            recorded_by=c.recorded_by,
            withdrawn_at=c.withdrawn_at,
        )


class ConsentDetail(ConsentSummary):
    shared_with: list[str] = Field(
        description="agencies sent a referral or transfer citing this consent"
    )


class Withdrawn(BaseModel):
    consent_id: str
    notices: list[MessageId] = Field(
        description="the withdrawal messages sent, one per agency that received data under it"
    )


class Answer(BaseModel):
    """An answer; `responded_by` is the signed-in user, never chosen by the caller."""

    model_config = ConfigDict(extra="forbid")
    note: Text | None = None


class Decline(Answer):
    reason: AckReason


class Complete(Answer):
    outcome: Outcome


class Plan(Answer):
    plan: Text = Field(description="the plan recorded for the child: who does what, by when")


class Redirect(Answer):
    to: AgencyId
    reason: AckReason


class AcknowledgementRequest(BaseModel):
    """An acknowledgement to send (a withdrawal, say): the body without `responded_by`,
    which is the signed-in user."""

    model_config = ConfigDict(extra="forbid")
    status: AckStatus
    answers: MessageId
    reason: AckReason | None = None
    redirected_to: AgencyId | None = None
    outcome: Outcome | None = None
    plan: Text | None = None
    note: Text | None = None

    def by(self, user: GatewayUser) -> Acknowledgement:
        """The acknowledgement as `user` sends it; raises RequestValidationError (422)."""
        try:
            return Acknowledgement(**dict(self), responded_by=user.worker)
        except ValidationError as error:
            raise RequestValidationError(
                [
                    {**e, "loc": ("body", "body", *e["loc"])}
                    for e in error.errors(include_input=False)
                ]
            ) from error


def signed_in(request: Request) -> GatewayUser:
    """The user AuthenticationMiddleware put in the scope; 401 should it be missing."""
    user = request.scope.get(SCOPE_USER)
    if not isinstance(user, GatewayUser):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
    return user


def allowed(permission: Permission) -> Callable[..., GatewayUser]:
    """A dependency: the signed-in user, when their role grants `permission`; 403 otherwise."""

    def dependency(user: Annotated[GatewayUser, Depends(signed_in)]) -> GatewayUser:
        if not user.may(permission):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"a {user.role} may not {permission}")
        return user

    return dependency


Sender = Annotated[GatewayUser, Depends(allowed(Permission.SEND))]
Reader = Annotated[GatewayUser, Depends(allowed(Permission.READ))]
Answerer = Annotated[GatewayUser, Depends(allowed(Permission.ANSWER))]
Auditor = Annotated[GatewayUser, Depends(allowed(Permission.AUDIT))]
ConsentKeeper = Annotated[GatewayUser, Depends(allowed(Permission.CONSENT))]


def create_api(
    gateway: Gateway,
    users: Mapping[str, GatewayUser],
    *,
    manage_lifecycle: bool = True,
    throttle: SignInThrottle | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    metrics_token: str | None = None,
    adapters: Sequence[Adapter] = (),
    pages: Pages | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The FastAPI app for `users`; with `manage_lifecycle` it starts and stops the gateway.

    /metrics answers only to `metrics_token`; without one it is not served (404).
    `adapters` add their routes; they start after the gateway and stop before it. `pages`
    (the agency inbox, broker.inbox) add theirs, and their session cookie as a way in.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await gateway.start()
        started: list[Adapter] = []
        try:
            for adapter in adapters:
                await adapter.start()
                started.append(adapter)
            yield
        finally:
            for adapter in reversed(started):
                await close_within(adapter.stop(), f"adapter {adapter.name}")
            if manage_lifecycle:
                await gateway.stop()

    app = FastAPI(
        title=f"Caselink gateway: {gateway.agency_id}",
        description="Send and receive sealed referrals, transfers, consents and answers.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    sign_in = SignIn(users, gateway.store.record_sign_in, throttle=throttle, clock=clock)
    self_authenticated = {path for a in adapters for path in a.self_authenticated_paths()}
    door = None
    if pages is not None:
        self_authenticated |= set(pages.open_paths)
        door = SessionDoor(pages.sessions, users, pages.cookie, pages.is_page, pages.serves, clock)
        app.include_router(pages.routes(sign_in))
    app.add_middleware(
        AuthenticationMiddleware,
        sign_in=sign_in,
        open_paths=OPEN_PATHS | self_authenticated,
        door=door,
    )
    for adapter in adapters:
        router = adapter.router()
        if router is not None:
            app.include_router(router)
    # /metrics only: the monitoring system's own token, outside the users file.
    bearer = HTTPBearer(auto_error=False)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(_: Request, error: RequestValidationError) -> JSONResponse:
        # The values a caller sent, and its unknown keys, may be personal data.
        return JSONResponse({"detail": [e.as_json() for e in field_errors(error.errors())]}, 422)

    @app.exception_handler(ConsentRefused)
    async def consent_refused(_: Request, error: ConsentRefused) -> JSONResponse:
        return JSONResponse({"detail": str(error), "reason": error.reason}, 422)

    async def submit(
        kind: MessageKind, request: Submission[Any], user: GatewayUser, key: str | None
    ) -> Accepted:
        body = (
            request.body.by(user)
            if isinstance(request.body, AcknowledgementRequest)
            else request.body
        )
        try:
            if key is None:
                entry = await gateway.submit(
                    body,
                    kind=kind,
                    recipient=request.recipient,
                    thread_id=request.thread_id,
                    respond_by=request.respond_by,
                    by=user,
                )
                return Accepted(message_id=entry.message_id, thread_id=entry.thread_id)
            held = await gateway.submit_once(
                scoped_key(user.name, checked_key(key)),
                request_hash(kind, request),
                body,
                kind=kind,
                recipient=request.recipient,
                thread_id=request.thread_id,
                respond_by=request.respond_by,
                by=user,
            )
            return Accepted(message_id=held.message_id, thread_id=held.thread_id)
        except EnvelopeError as error:
            raise HTTPException(422, f"cannot seal ({error.reason}): {error}") from error
        except IdempotencyKeyInvalid as error:
            raise HTTPException(400, str(error)) from error
        except IdempotencyKeyReused as error:
            raise HTTPException(422, str(error)) from error
        except IdempotencyKeyInFlight as error:
            raise HTTPException(409, str(error)) from error

    def submitter(kind: MessageKind, model: type[BaseModel]) -> Callable[..., Awaitable[Accepted]]:
        # One endpoint per kind, so OpenAPI documents each body's own schema.
        async def endpoint(
            request: Submission[model],  # type: ignore[valid-type]
            user: Sender,
            idempotency_key: Annotated[
                str | None,
                Header(
                    alias="Idempotency-Key",
                    description="Retry-safe: the same key and request answer the same ids "
                    "(a day, per user; 1-128 printable ASCII)",
                ),
            ] = None,
        ) -> Accepted:
            return await submit(kind, request, user, idempotency_key)

        endpoint.__doc__ = f"Seal a {kind.value} for one agency and queue it durably."
        return endpoint

    for kind, model, path in (
        (MessageKind.REFERRAL, Referral, "/v1/referrals"),
        (MessageKind.TRANSFER, Transfer, "/v1/transfers"),
        (MessageKind.CONSENT, Consent, "/v1/consents"),
        (MessageKind.ACKNOWLEDGEMENT, AcknowledgementRequest, "/v1/acknowledgements"),
    ):
        app.post(
            path,
            status_code=202,
            response_model=Accepted,
            tags=["send"],
            name=f"submit_{kind.value}",
        )(submitter(kind, model))

    @app.post("/v1/consents/records", status_code=201, tags=["consents"])
    async def record_consent(consent: Consent, user: ConsentKeeper) -> ConsentSummary:
        """Record a consent in this agency's register (its body kept sealed); the same id
        with status withdrawn withdraws it. 409 when the id is recorded with another content."""
        try:
            await gateway.record_consent(consent, by=user)
        except ConsentConflict as error:
            raise HTTPException(409, str(error)) from error
        except EnvelopeError as error:
            raise HTTPException(422, f"cannot seal ({error.reason}): {error}") from error
        recorded = await gateway.store.consent(consent.consent_id)
        if recorded is None:  # unreachable: it was just saved; narrows the type
            raise HTTPException(500, "the consent was not kept")
        return ConsentSummary.of(recorded)

    @app.get("/v1/consents/records", tags=["consents"])
    async def list_consents(
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[ConsentSummary]:
        """The consent register, latest recorded first (never whose consent)."""
        found = await gateway.store.consents(limit=limit, offset=offset)
        return [ConsentSummary.of(c) for c in found]

    @app.get("/v1/consents/records/{consent_id}", tags=["consents"])
    async def show_consent(consent_id: ConsentId, _: Reader) -> ConsentDetail:
        """One consent of the register, with the agencies that received data under it."""
        found = await gateway.store.consent(consent_id)
        if found is None:
            raise HTTPException(404, "no such consent in the register")
        shared_with = await gateway.store.consent_recipients(consent_id)
        return ConsentDetail(**ConsentSummary.of(found).model_dump(), shared_with=shared_with)

    @app.post("/v1/consents/records/{consent_id}/withdraw", status_code=202, tags=["consents"])
    async def withdraw_consent(consent_id: ConsentId, user: ConsentKeeper) -> Withdrawn:
        """Withdraw a consent: later sends citing it are refused, and every agency that
        received data under it is sent the withdrawal (one thread; none when already withdrawn)."""
        try:
            notices = await gateway.withdraw_consent(consent_id, by=user)
        except ConsentNotRecorded as error:
            raise HTTPException(404, "no such consent in the register") from error
        except EnvelopeError as error:
            raise HTTPException(500, f"cannot open the stored consent ({error.reason})") from error
        return Withdrawn(consent_id=consent_id, notices=notices)

    @app.get("/v1/inbox", tags=["inbox"])
    async def list_inbox(
        _: Reader,
        kind: MessageKind | None = None,
        state: InboxState | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[InboxSummary]:
        """Received messages, newest first (bodies via /v1/inbox/{message_id})."""
        messages = await gateway.store.inbox(
            kind=kind.value if kind else None, state=state, limit=limit, offset=offset
        )
        return [InboxSummary.of(m) for m in messages]

    @app.get("/v1/inbox/{message_id}", tags=["inbox"])
    async def read_inbox(message_id: MessageId, user: Reader) -> InboxItem:
        """One received message with its body: the read is recorded first, then the sealed
        envelope is opened (410 once the body has been erased)."""
        try:
            message, body = await gateway.read(message_id, user, ReadChannel.API)
        except KeyError as error:
            raise HTTPException(404, "no such message in the inbox") from error
        except BodyErased as error:
            raise HTTPException(410, str(error)) from error
        except (EnvelopeError, StoredEnvelopeMismatch) as error:
            raise HTTPException(500, f"cannot open the stored message ({error.reason})") from error
        return InboxItem(**InboxSummary.of(message).model_dump(), body=body.model_dump(mode="json"))

    async def answer(message_id: str, ack: Acknowledgement, user: GatewayUser) -> InboxSummary:
        try:
            return InboxSummary.of(await gateway.respond(message_id, ack, by=user))
        except KeyError as error:
            raise HTTPException(404, "no such message in the inbox") from error
        except (TransitionNotAllowed, AnswerMismatch) as error:
            raise HTTPException(409, str(error)) from error
        except EnvelopeError as error:
            raise HTTPException(422, f"cannot seal the answer ({error.reason}): {error}") from error

    @app.post("/v1/inbox/{message_id}/accept", tags=["answer"])
    async def accept(message_id: MessageId, request: Answer, user: Answerer) -> InboxSummary:
        """Accept a received referral or transfer (for a transfer: responsibility moves here)."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.ACCEPTED,
                answers=message_id,
                responded_by=user.worker,
                note=request.note,
            ),
            user,
        )

    @app.post("/v1/inbox/{message_id}/decline", tags=["answer"])
    async def decline(message_id: MessageId, request: Decline, user: Answerer) -> InboxSummary:
        """Decline a received referral or transfer; a reason is required."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.DECLINED,
                answers=message_id,
                reason=request.reason,
                responded_by=user.worker,
                note=request.note,
            ),
            user,
        )

    @app.post("/v1/inbox/{message_id}/complete", tags=["answer"])
    async def complete(message_id: MessageId, request: Complete, user: Answerer) -> InboxSummary:
        """Complete an accepted referral or transfer with its outcome."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.COMPLETED,
                answers=message_id,
                outcome=request.outcome,
                responded_by=user.worker,
                note=request.note,
            ),
            user,
        )

    @app.post("/v1/inbox/{message_id}/plan", tags=["answer"])
    async def plan(message_id: MessageId, request: Plan, user: Answerer) -> InboxSummary:
        """Record the plan for an accepted referral or transfer: it meets the outcome
        deadline as completing does; complete it later with its outcome."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.PLANNED,
                answers=message_id,
                plan=request.plan,
                responded_by=user.worker,
                note=request.note,
            ),
            user,
        )

    @app.post("/v1/inbox/{message_id}/redirect", tags=["answer"])
    async def redirect(message_id: MessageId, request: Redirect, user: Answerer) -> InboxSummary:
        """Point the sender to a better-placed agency; a reason is required."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.REDIRECTED,
                answers=message_id,
                redirected_to=request.to,
                reason=request.reason,
                responded_by=user.worker,
                note=request.note,
            ),
            user,
        )

    @app.get("/v1/sent", tags=["sent"])
    async def list_sent(
        _: Reader,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[SentItem]:
        """What this agency sent: confirmed by the broker? delivered? answered?"""
        sent = await gateway.store.sent(limit=limit, offset=offset)
        return [SentItem.of(s, gateway.agency_id) for s in sent]

    @app.get("/v1/sent/{message_id}", tags=["sent"])
    async def read_sent(message_id: MessageId, _: Reader) -> SentItem:
        """What became of one sent message."""
        found = await gateway.store.sent_message(message_id)
        if found is None:
            raise HTTPException(404, "no such sent message")
        return SentItem.of(found, gateway.agency_id)

    @app.get("/v1/threads/{thread_id}/reads", tags=["audit"])
    async def thread_reads(
        thread_id: ThreadId,
        _: Auditor,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[ReadItem]:
        """Who opened the bodies of this thread's messages, and when, oldest first (supervisors)."""
        found = await gateway.store.reads(thread_id, limit=limit, offset=offset)
        return [ReadItem.of(r) for r in found]

    @app.get("/v1/sign-ins", tags=["audit"])
    async def list_sign_ins(
        _: Auditor,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[SignInItem]:
        """Sign-ins to this API, succeeded and failed, newest first (supervisors)."""
        found = await gateway.store.sign_ins(limit=limit, offset=offset)
        return [SignInItem.of(s) for s in found]

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """200 when all is well; 503 while the consumer is down (the watchdog is on it) or
        publishes fail (`last_publish_error`: reason, code, since, failures; cleared by the
        next confirmed publish)."""
        health = await gateway.health()
        failing = health.last_publish_error
        return JSONResponse(
            {
                "status": health.status,
                "consumer_alive": health.consumer_alive,
                "outbox_pending": health.outbox_pending,
                "last_publish_error": None
                if failing is None
                else {
                    "reason": failing.reason,
                    "code": failing.code,
                    "since": failing.since,
                    "failures": failing.count,
                },
            },
            status.HTTP_200_OK if health.ok else status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 401: {}, 404: {}},
    )
    async def metrics(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Response:
        """Counts for Prometheus (publishes, deliveries, refusals, outbox, consumer); takes
        the metrics token as a bearer token, never the API's."""
        if metrics_token is None:
            raise HTTPException(404, "metrics are not enabled (metrics_token_file)")
        if credentials is None or not token_matches(credentials.credentials, metrics_token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "metrics token required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return Response(await gateway.metrics_text(), media_type=CONTENT_TYPE_LATEST)

    # Last: outermost. The pages' own form posts need a Referer-free Origin that is not
    # "null" (broker/web/app.py says why), hence their referrer policy.
    referrer_policy = "no-referrer" if pages is None else PAGES_REFERRER_POLICY
    harden(app, max_body_bytes=max_request_bytes, referrer_policy=referrer_policy)
    return app
