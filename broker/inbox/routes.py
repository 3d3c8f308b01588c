"""The agency inbox pages: sign-in, the received list, one message, the answer forms, the
send form and the sent list; each a server-rendered page in the reader's language.

Every page but the sign-in form needs a user, found from the headers before any body is
read (the session cookie, broker.gateway.auth_middleware); a page asked for without one is
sent to the sign-in form. A form posted from another site is refused: the browser's
Sec-Fetch-Site, else its Origin, must name this site (broker.http_edge.forms.same_origin; a
client sending neither is no browser, and the session cookie is SameSite=Strict besides).
Forms are read within a cap. After a post the browser is sent on (Post/Redirect/Get) with
a status word in the query (`done`, `problem`) that names one of a fixed set of messages;
a form refused for its fields is shown again instead (422 or 400), its fields marked. No
text of the request is ever shown back but in the form it came from, escaped.

A body is opened only on the message page, through `Gateway.read` with the PAGE channel:
the read (who, when) is committed first. Lists show ids, agencies, kinds, states and times.
"""

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broker.envelope import EnvelopeError
from broker.errors import CaselinkError
from broker.gateway.api import Submission, signed_in
from broker.gateway.consent_rules import ConsentRefused
from broker.gateway.idempotency import (
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    checked_key,
    request_hash,
    scoped_key,
)
from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed, can_move
from broker.gateway.pages_port import LOGIN_PATH
from broker.gateway.records import InboxState, ReadChannel, SignInMethod
from broker.gateway.service import Gateway
from broker.gateway.signin import Refused, SignIn
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch
from broker.gateway.users import GatewayUser, Permission, Role
from broker.http_edge.client import client_address
from broker.http_edge.forms import read_form, read_form_fields, safe_next, same_origin
from broker.inbox import forms
from broker.inbox.forms import LABELS, LAWFUL_BASES, Action, FormProblem
from broker.inbox.messages import CONSENT_REFUSALS, DONE, PROBLEMS, refusal_message
from broker.inbox.views import (
    LISTED_KINDS,
    NOT_ANSWERED,
    Answered,
    FormValues,
    body_fields,
    received,
    received_list,
    sent_list,
)
from broker.look import N_, Look, Reader
from broker.look.pages import STATIC_PATHS, gettext_for
from broker.look.signin import CROSS_SITE, MALFORMED, WRONG_PASSWORD, sign_in_page, visitor
from broker.look.static_routes import static_router
from broker.people.sessions import Sessions
from schemas.acknowledgement import AckReasonCategory, OutcomeCategory
from schemas.common import Sex
from schemas.ids import UUID4_PATTERN
from schemas.kinds import AgencyKind, MessageKind, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel

COOKIE = "caselink_inbox"
"""Not the dashboard's cookie name: both may run on one host, and cookies ignore ports."""
LIST_SIZE = 200
HOME = "/inbox"
HEADING = N_("Sign in to the agency inbox")
_ID = re.compile(UUID4_PATTERN)
OPEN_PATHS = frozenset({LOGIN_PATH, "/logout", *STATIC_PATHS})
_PAGE_PREFIXES = ("/inbox", "/send", "/sent")


def is_page(path: str) -> bool:
    """Whether `path` is a page (sent to the sign-in form without a user); fragments are
    not: the live script gets 401 and sends the browser to the form itself."""
    return path == "/" or any(
        path == prefix or path.startswith(prefix + "/") for prefix in _PAGE_PREFIXES
    )


def serves(path: str) -> bool:
    """Whether `path` is one of the pages' own (a page, a form post, a live fragment): the
    paths their session cookie opens."""
    return is_page(path) or path.startswith("/fragments/")


def inbox_router(
    gateway: Gateway,
    sign_in: SignIn,
    sessions: Sessions[GatewayUser],
    look: Look,
    *,
    secure_cookie: bool,
    clock: Callable[[], float],
) -> APIRouter:
    """The pages' routes over `gateway`; `sign_in` is the API's (one throttle, one log)."""
    router = APIRouter(include_in_schema=False)
    User = Annotated[GatewayUser, Depends(signed_in)]

    def reader(user: GatewayUser) -> Reader:
        return Reader(
            language=user.language,
            time_zone=user.time_zone,
            name=user.worker.name,
            role=user.role.value,
            agency=gateway.agency_id,
        )

    def page(template: str, user: GatewayUser, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(look.render(template, reader(user), **context), status)

    def fragment(user: GatewayUser, template: str, **context: Any) -> HTMLResponse:
        """A live list's fragment, stamped (X-Updated-At) as its page is."""
        shown = reader(user)
        stamp = shown.formats.stamp(clock())
        return HTMLResponse(
            look.render(template, shown, **context), headers={"X-Updated-At": stamp}
        )

    def error(user: GatewayUser, status: int, title: str, detail: str) -> HTMLResponse:
        return page(
            "error.html", user, status, title=_t(user, title), detail=_t(user, detail), home=HOME
        )

    def recipients() -> list[tuple[str, str]]:
        """Agencies a referral may go to: every other agency but coordinators, by name."""
        listed = gateway.sealer.directory.directory.agencies
        return sorted(
            (
                (a.id, a.name)
                for a in listed
                if a.id != gateway.agency_id and a.kind is not AgencyKind.COORDINATOR
            ),
            key=lambda pair: pair[1].casefold(),
        )

    # Sign-in and out (open paths: no user yet).

    @router.get(LOGIN_PATH)
    async def login_form(request: Request, next: str = HOME) -> HTMLResponse:
        return _login_page(look, request, safe_next(next, HOME))

    @router.post(LOGIN_PATH, response_model=None)
    async def login(request: Request) -> Response:
        if not same_origin(request):
            return _login_page(look, request, HOME, CROSS_SITE, 403)
        form = await read_form(request)
        if form is None:
            return _login_page(look, request, HOME, MALFORMED, 400)
        target = safe_next(form.get("next", HOME), HOME)
        try:
            verdict = await sign_in.password(
                form.get("name", ""),
                form.get("password", ""),
                client_address(request.scope),
                SignInMethod.FORM,
            )
        except CaselinkError:
            # No sign-in without its record: the sign-in log could not be written.
            unavailable = N_("Signing in is unavailable just now; try again in a minute.")
            return _login_page(look, request, target, unavailable, 503)
        if isinstance(verdict, Refused):
            if verdict.status == 429 and verdict.retry_after_s is not None:
                wait = verdict.retry_after_s
                page = sign_in_page(look, visitor(request), HEADING, target, retry_after=wait)
                return HTMLResponse(page, 429, headers={"Retry-After": str(wait)})
            return _login_page(look, request, target, WRONG_PASSWORD, 401)
        previous = request.cookies.get(COOKIE)
        if previous is not None:
            # A browser holds one session: the one it had before (whoever's) ends here.
            await sessions.end(previous, clock())
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            await sessions.start(verdict, clock()),
            max_age=sessions.ttl_seconds,
            httponly=True,
            secure=secure_cookie,
            samesite="strict",
            path="/",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> RedirectResponse:
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        if same_origin(request):
            token = request.cookies.get(COOKIE)
            if token is not None:
                # Ended on the server: a copy of the cookie stops working too.
                await sessions.end(token, clock())
            response.delete_cookie(
                COOKIE, path="/", httponly=True, samesite="strict", secure=secure_cookie
            )
        return response

    router.include_router(static_router())

    # The received list.

    @router.get("/")
    async def home(user: User) -> RedirectResponse:
        return RedirectResponse(HOME, status_code=303)

    async def received_rows() -> list[Any]:
        # Unanswered first from the store: an old overdue referral is never cut off by
        # newer answers, consents or answered referrals.
        found = await gateway.store.worklist(LISTED_KINDS, limit=LIST_SIZE)
        return received_list(found, clock())

    @router.get(HOME)
    async def inbox_page(user: User, done: str = "", problem: str = "") -> HTMLResponse:
        if not user.may(Permission.READ):
            return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
        return page(
            "inbox.html",
            user,
            active=HOME,
            rows=await received_rows(),
            updated=reader(user).formats.stamp(clock()),
            done=DONE.get(done),
            problem=PROBLEMS.get(problem),
        )

    @router.get("/fragments/inbox")
    async def inbox_fragment(user: User) -> HTMLResponse:
        if not user.may(Permission.READ):
            return HTMLResponse("", 403)
        return fragment(user, "inbox_rows.html", rows=await received_rows())

    # One message, and the answers to it.

    @router.get(HOME + "/{message_id}")
    async def message_page(message_id: str, user: User, problem: str = "") -> HTMLResponse:
        if not user.may(Permission.READ):
            return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
        return await show_message(user, message_id, problem=PROBLEMS.get(problem))

    async def show_message(
        user: GatewayUser,
        message_id: str,
        *,
        status: int = 200,
        problem: str | None = None,
        answered: Answered = NOT_ANSWERED,
    ) -> HTMLResponse:
        """The message page (the read recorded), with `answered`: a refused answer form's
        values and the fields at fault, shown again."""
        if not _ID.fullmatch(message_id):
            return error(user, 404, N_("Not found"), N_("There is no such message here."))
        try:
            message, body = await gateway.read(message_id, user, ReadChannel.PAGE)
        except KeyError:
            return error(user, 404, N_("Not found"), N_("There is no such message here."))
        except BodyErased:
            return error(
                user,
                410,
                N_("Erased"),
                N_("The content of this message has been erased; its ids and state are kept."),
            )
        except (EnvelopeError, StoredEnvelopeMismatch):
            return error(
                user,
                500,
                N_("Cannot open"),
                N_("This message cannot be opened. Tell your administrator."),
            )
        state = message.state
        answers = [
            action.value
            for action in Action
            if user.may(Permission.ANSWER) and can_move(message.kind, state, _TARGET[action])
        ]
        return page(
            "message.html",
            user,
            status,
            active=HOME,
            message=message,
            row=received(message, clock()),
            fields=body_fields(body),
            answers=answers,
            problem=problem,
            answered=answered,
            agencies=redirect_targets(message.sender),
            reasons=[c.value for c in AckReasonCategory],
            outcomes=[c.value for c in OutcomeCategory],
            labels=LABELS,
        )

    def redirect_targets(sender: str) -> list[tuple[str, str]]:
        return [a for a in recipients() if a[0] != sender]

    def answer_route(action: Action) -> Callable[..., Any]:
        async def answer(message_id: str, request: Request, user: User) -> Response:
            if not same_origin(request):
                return error(user, 403, N_("Not allowed"), N_("Cross-site form refused."))
            if not user.may(Permission.ANSWER):
                return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
            if not _ID.fullmatch(message_id):
                return error(user, 404, N_("Not found"), N_("There is no such message here."))
            fields = await read_form_fields(
                request,
                max_bytes=forms.MAX_ANSWER_FORM_BYTES,
                max_fields=forms.MAX_ANSWER_FORM_FIELDS,
            )
            back = f"{HOME}/{message_id}"
            if fields is None:
                return _see(back, problem="invalid")
            try:
                ack = forms.answer_of(action, message_id, fields, user.worker)
                stored = await gateway.store.inbox_message(message_id)
                if (
                    ack.redirected_to is not None
                    and stored is not None
                    and ack.redirected_to not in dict(redirect_targets(stored.sender))
                ):
                    # Only an agency the form offers: one of the directory, not the sender.
                    raise FormProblem(["to"])
                await gateway.respond(message_id, ack, by=user)
            except FormProblem as problem:
                # Shown again, not redirected: what was typed is kept and the fields marked.
                kept = Answered.of(action.value, fields, problem.fields)
                shown = _check(user, problem.fields)
                return await show_message(
                    user, message_id, status=400, problem=shown, answered=kept
                )
            except KeyError:
                return error(user, 404, N_("Not found"), N_("There is no such message here."))
            except (TransitionNotAllowed, AnswerMismatch):
                return _see(back, problem="not_allowed")
            except EnvelopeError:
                return _see(back, problem="not_sealed")
            return _see(HOME, done=_TARGET[action].value)

        return answer

    for action in Action:
        router.post(f"{HOME}/{{message_id}}/{action.value}", response_model=None)(
            answer_route(action)
        )

    # Sending a referral.

    async def send_page(
        user: GatewayUser,
        values: Mapping[str, Sequence[str]],
        status: int = 200,
        problem: str | None = None,
        fields: Sequence[str] = (),
    ) -> HTMLResponse:
        # Suggested: the consents the rules would take today (granted, in date), however
        # long ago recorded; the sending rules still decide (UTC days, as they count them).
        today = datetime.fromtimestamp(clock(), UTC).date()
        in_force = await gateway.store.consents(limit=LIST_SIZE, in_force_on=today)
        return page(
            "send.html",
            user,
            status,
            active="/send",
            agencies=recipients(),
            values=FormValues(
                (name, given[0]) for name, given in values.items() if len(given) == 1
            ),
            chosen=list(values.get("reason", ())),
            key=secrets.token_urlsafe(24),  # one sending per form shown (Idempotency-Key)
            problem=problem,
            bad=frozenset(fields),
            labels=LABELS,
            urgencies=[u.value for u in Urgency],
            sexes=[s.value for s in Sex],
            reasons=[r.value for r in ReasonCategory],
            risks=[r.value for r in RiskLevel],
            services=[s.value for s in RequestedService],
            bases=[b.value for b in LAWFUL_BASES],
            consents=in_force,
            supervisor=user.worker.name if user.role is Role.SUPERVISOR else "",
        )

    @router.get("/send")
    async def send_form(user: User) -> HTMLResponse:
        if not user.may(Permission.SEND):
            return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
        return await send_page(user, {})

    @router.post("/send", response_model=None)
    async def send(request: Request, user: User) -> Response:
        if not same_origin(request):
            return error(user, 403, N_("Not allowed"), N_("Cross-site form refused."))
        if not user.may(Permission.SEND):
            return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
        fields = await read_form_fields(
            request, max_bytes=forms.MAX_SEND_FORM_BYTES, max_fields=forms.MAX_SEND_FORM_FIELDS
        )
        if fields is None:
            unread = _t(user, N_("The form could not be read; fill it in again."))
            return await send_page(user, {}, 400, unread)
        today = datetime.fromtimestamp(clock(), UTC).date()
        try:
            outgoing = forms.referral_of(
                fields, author=user.worker, time_zone=user.time_zone, today=today
            )
        except FormProblem as problem:
            return await send_page(user, fields, 422, _check(user, problem.fields), problem.fields)
        submission = Submission[Referral](
            recipient=outgoing.recipient, respond_by=outgoing.respond_by, body=outgoing.body
        )
        try:
            key = scoped_key(user.name, checked_key(forms.one(fields, "key")))
            await gateway.submit_once(
                key,
                request_hash(MessageKind.REFERRAL, submission),
                outgoing.body,
                kind=MessageKind.REFERRAL,
                recipient=outgoing.recipient,
                respond_by=outgoing.respond_by,
                by=user,
            )
        except ConsentRefused as refused:
            message = _t(user, refusal_message(refused.reason))
            return await send_page(
                user, fields, 422, message, CONSENT_REFUSALS.get(refused.reason, ())
            )
        except EnvelopeError:
            message = _t(user, N_("This agency cannot be sent to now: it has no valid key."))
            return await send_page(user, fields, 422, message, ("recipient",))
        except IdempotencyKeyInvalid:
            # No key, or not one this form was given: nothing was sent, so say so and keep
            # what was typed (not "sent already").
            unread = _t(user, N_("The form could not be read; fill it in again."))
            return await send_page(user, fields, 400, unread)
        except (IdempotencyKeyReused, IdempotencyKeyInFlight):
            return _see("/sent", problem="resent")
        return _see("/sent", done="sent")

    # What the agency sent.

    async def sent_rows() -> list[Any]:
        return sent_list(await gateway.store.sent(limit=LIST_SIZE))

    @router.get("/sent")
    async def sent_page(user: User, done: str = "", problem: str = "") -> HTMLResponse:
        if not user.may(Permission.READ):
            return error(user, 403, N_("Not allowed"), N_("Your role may not do this."))
        return page(
            "sent.html",
            user,
            active="/sent",
            rows=await sent_rows(),
            updated=reader(user).formats.stamp(clock()),
            done=DONE.get(done),
            problem=PROBLEMS.get(problem),
        )

    @router.get("/fragments/sent")
    async def sent_fragment(user: User) -> HTMLResponse:
        if not user.may(Permission.READ):
            return HTMLResponse("", 403)
        return fragment(user, "sent_rows.html", rows=await sent_rows())

    return router


_TARGET: Mapping[Action, InboxState] = {
    Action.ACCEPT: InboxState.ACCEPTED,
    Action.DECLINE: InboxState.DECLINED,
    Action.REDIRECT: InboxState.REDIRECTED,
    Action.PLAN: InboxState.PLANNED,
    Action.COMPLETE: InboxState.COMPLETED,
}


def _t(user: GatewayUser, message: str) -> str:
    return gettext_for(user.language)(message)


def _check(user: GatewayUser, fields: Sequence[str]) -> str:
    gettext = gettext_for(user.language)
    names = ", ".join(gettext(LABELS.get(name, name)) for name in fields)
    return gettext("Check these fields: %(fields)s.") % {"fields": names}


def _see(path: str, **status: str) -> RedirectResponse:
    query = "&".join(f"{key}={value}" for key, value in status.items())
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def _login_page(
    look: Look, request: Request, next_path: str, message: str | None = None, status: int = 200
) -> HTMLResponse:
    """The sign-in form in the language the browser asks for; `message` an English message."""
    page = sign_in_page(look, visitor(request), HEADING, next_path, message=message)
    return HTMLResponse(page, status)
