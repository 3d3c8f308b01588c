"""The gateway's local HTTP API for the agency's own systems (OpenAPI at /docs).

Bearer-token protected. Submissions answer 202 once the sealed message is committed to the
outbox. Invalid input answers 422 with field locations and messages, never echoing values.
/healthz is public (status and counts only); /metrics takes the metrics token, a secret of
its own, so that a monitoring system holds no credential of the agency's API.
"""

import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from broker.envelope import EnvelopeError
from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed
from broker.gateway.metrics import CONTENT_TYPE_LATEST
from broker.gateway.records import InboxMessage, InboxState, OutboxMessage, SentStatus
from broker.gateway.service import Gateway
from broker.keystore import token_matches
from broker.lifecycle import Stage
from schemas.acknowledgement import Acknowledgement, AckReason, Outcome
from schemas.common import Text, Worker
from schemas.consent import Consent
from schemas.header import UnixSeconds
from schemas.ids import AgencyId, MessageId, ThreadId
from schemas.kinds import AckStatus, MessageKind
from schemas.referral import Referral
from schemas.transfer import Transfer

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

    @classmethod
    def of(cls, s: SentStatus) -> "SentItem":
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
        )


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    responded_by: Worker
    note: Text | None = None


class Decline(Answer):
    reason: AckReason


class Complete(Answer):
    outcome: Outcome


class Redirect(Answer):
    to: AgencyId
    reason: AckReason


def create_api(
    gateway: Gateway,
    token: str,
    *,
    manage_lifecycle: bool = True,
    metrics_token: str | None = None,
) -> FastAPI:
    """The FastAPI app; with `manage_lifecycle` it starts and stops the gateway with itself.

    /metrics answers only to `metrics_token`; without one it is not served (404).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            await gateway.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await gateway.stop()

    app = FastAPI(
        title=f"Caselink gateway: {gateway.agency_id}",
        description="Send and receive sealed referrals, transfers, consents and answers.",
        lifespan=lifespan,
    )
    bearer = HTTPBearer(auto_error=False)

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> None:
        if credentials is None or not secrets.compare_digest(credentials.credentials, token):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "bearer token required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.exception_handler(RequestValidationError)
    async def invalid_input(_: Request, error: RequestValidationError) -> JSONResponse:
        # The values a caller sent may be personal data: name the fields, never echo them.
        fields = [{"loc": e["loc"], "msg": e["msg"], "type": e["type"]} for e in error.errors()]
        return JSONResponse({"detail": fields}, 422)

    guarded = [Depends(authorised)]

    async def submit(kind: MessageKind, request: Submission[Any]) -> Accepted:
        try:
            entry = await gateway.submit(
                request.body,
                kind=kind,
                recipient=request.recipient,
                thread_id=request.thread_id,
                respond_by=request.respond_by,
            )
        except EnvelopeError as error:
            raise HTTPException(422, f"cannot seal ({error.reason}): {error}") from error
        return Accepted(message_id=entry.message_id, thread_id=entry.thread_id)

    def submitter(kind: MessageKind, model: type[BaseModel]) -> Callable[..., Awaitable[Accepted]]:
        # One endpoint per kind, so OpenAPI documents each body's own schema.
        async def endpoint(request: Submission[model]) -> Accepted:  # type: ignore[valid-type]
            return await submit(kind, request)

        endpoint.__doc__ = f"Seal a {kind.value} for one agency and queue it durably."
        return endpoint

    for kind, model, path in (
        (MessageKind.REFERRAL, Referral, "/v1/referrals"),
        (MessageKind.TRANSFER, Transfer, "/v1/transfers"),
        (MessageKind.CONSENT, Consent, "/v1/consents"),
        (MessageKind.ACKNOWLEDGEMENT, Acknowledgement, "/v1/acknowledgements"),
    ):
        app.post(
            path,
            status_code=202,
            response_model=Accepted,
            dependencies=guarded,
            tags=["send"],
            name=f"submit_{kind.value}",
        )(submitter(kind, model))

    @app.get("/v1/inbox", dependencies=guarded, tags=["inbox"])
    async def list_inbox(
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

    @app.get("/v1/inbox/{message_id}", dependencies=guarded, tags=["inbox"])
    async def read_inbox(message_id: MessageId) -> InboxItem:
        """One received message with its decrypted body."""
        message = await gateway.store.inbox_message(message_id)
        if message is None:
            raise HTTPException(404, "no such message in the inbox")
        return InboxItem(
            **InboxSummary.of(message).model_dump(), body=json.loads(message.body_json)
        )

    async def answer(message_id: str, ack: Acknowledgement) -> InboxSummary:
        try:
            return InboxSummary.of(await gateway.respond(message_id, ack))
        except KeyError as error:
            raise HTTPException(404, "no such message in the inbox") from error
        except (TransitionNotAllowed, AnswerMismatch) as error:
            raise HTTPException(409, str(error)) from error
        except EnvelopeError as error:
            raise HTTPException(422, f"cannot seal the answer ({error.reason}): {error}") from error

    @app.post("/v1/inbox/{message_id}/accept", dependencies=guarded, tags=["answer"])
    async def accept(message_id: MessageId, request: Answer) -> InboxSummary:
        """Accept a received referral or transfer (for a transfer: responsibility moves here)."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.ACCEPTED,
                answers=message_id,
                responded_by=request.responded_by,
                note=request.note,
            ),
        )

    @app.post("/v1/inbox/{message_id}/decline", dependencies=guarded, tags=["answer"])
    async def decline(message_id: MessageId, request: Decline) -> InboxSummary:
        """Decline a received referral or transfer; a reason is required."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.DECLINED,
                answers=message_id,
                reason=request.reason,
                responded_by=request.responded_by,
                note=request.note,
            ),
        )

    @app.post("/v1/inbox/{message_id}/complete", dependencies=guarded, tags=["answer"])
    async def complete(message_id: MessageId, request: Complete) -> InboxSummary:
        """Complete an accepted referral or transfer with its outcome."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.COMPLETED,
                answers=message_id,
                outcome=request.outcome,
                responded_by=request.responded_by,
                note=request.note,
            ),
        )

    @app.post("/v1/inbox/{message_id}/redirect", dependencies=guarded, tags=["answer"])
    async def redirect(message_id: MessageId, request: Redirect) -> InboxSummary:
        """Point the sender to a better-placed agency; a reason is required."""
        return await answer(
            message_id,
            Acknowledgement(
                status=AckStatus.REDIRECTED,
                answers=message_id,
                redirected_to=request.to,
                reason=request.reason,
                responded_by=request.responded_by,
                note=request.note,
            ),
        )

    @app.get("/v1/sent", dependencies=guarded, tags=["sent"])
    async def list_sent(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[SentItem]:
        """What this agency sent: confirmed by the broker? delivered? answered?"""
        return [SentItem.of(s) for s in await gateway.store.sent(limit=limit, offset=offset)]

    @app.get("/v1/sent/{message_id}", dependencies=guarded, tags=["sent"])
    async def read_sent(message_id: MessageId) -> SentItem:
        """What became of one sent message."""
        found = await gateway.store.sent_message(message_id)
        if found is None:
            raise HTTPException(404, "no such sent message")
        return SentItem.of(found)

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

    return app
