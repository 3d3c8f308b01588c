"""The gateway's HTTP API and its users: who may call, who answered, who read what.

A gateway for `social-east` on the in-memory broker, its store in memory; received
messages are put straight into its store (their sender, `oscc-north`, is in the directory,
so answers can be sealed and opened again with the sender's key).
"""

import base64
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from broker.envelope import open_envelope, seal
from broker.errors import CaselinkError
from broker.gateway.api import create_api
from broker.gateway.incoming import decide
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import (
    InboxMessage,
    InboxState,
    OutboxMessage,
    ReadChannel,
    Received,
    SignInMethod,
    SignInOutcome,
)
from broker.gateway.service import Gateway
from broker.people.throttle import SignInThrottle
from broker.people.tokens import new_token
from schemas.acknowledgement import Acknowledgement
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from schemas.referral import Referral
from tests.consents import grant_example_consent
from tests.gateway_users import PASSWORDS, SYSTEM_TOKEN, make_users
from tests.memory_federation import MemoryFederation, memory_federation

A, B = "oscc-north", "social-east"
SECRET = "SECRET-NARRATIVE-7f3a"


def basic(name: str, password: str | None = None) -> dict[str, str]:
    password = PASSWORDS[name] if password is None else password
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


BEARER = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}


class RecordingStore(MemoryGatewayStore):
    """A memory store that keeps every outbox entry written and can fail recording reads."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_reads = False
        self.written: list[OutboxMessage] = []

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        self.written += messages
        await super().enqueue(messages)

    async def respond(
        self, message_id: str, state: InboxState, answer: OutboxMessage
    ) -> InboxMessage:
        self.written.append(answer)
        return await super().respond(message_id, state, answer)

    async def record_read(self, *args: Any, **kwargs: Any) -> InboxMessage | None:
        if self.fail_reads:
            raise OSError("the database went away")
        return await super().record_read(*args, **kwargs)


@pytest.fixture
def fed() -> MemoryFederation:
    return memory_federation()


@pytest.fixture
async def gateway(fed: MemoryFederation) -> AsyncIterator[Gateway]:
    gateway = Gateway(
        keys=fed.keys[B],
        directory=fed.trusted,
        store=RecordingStore(),
        publisher=fed.agency_publisher(B),
        subscription=fed.subscription(fed.topology.agency_queue(B)),
        topology=fed.topology,
    )
    await gateway.start()
    await grant_example_consent(gateway)
    try:
        yield gateway
    finally:
        await gateway.stop()


@pytest.fixture
def app(gateway: Gateway) -> FastAPI:
    return create_api(gateway, make_users(), manage_lifecycle=False)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


def written(gateway: Gateway) -> list[OutboxMessage]:
    """What the API's calls put in the outbox (not the automatic `received` acks)."""
    assert isinstance(gateway.store, RecordingStore)
    return gateway.store.written


async def received(gateway: Gateway, fed: MemoryFederation) -> InboxMessage:
    """A referral from A in B's inbox, NEW, sealed as it arrived; its narrative is SECRET."""
    now = time.time()
    raw = seal(
        example_body(MessageKind.REFERRAL).model_copy(update={"narrative": SECRET}),
        kind=MessageKind.REFERRAL,
        sender=fed.keys[A],
        recipient=B,
        directory=fed.trusted,
        now=int(now),
        thread_id=new_thread_id(),
        message_id=new_message_id(),
    )
    decision = decide(
        raw,
        published_by=fed.topology.agency_user(A),
        sealer=gateway.sealer,
        topology=fed.topology,
        now=now,
    )
    assert isinstance(decision, Received)
    await gateway.store.store_received([decision])
    return decision.message


def opened_answer(fed: MemoryFederation, envelope: bytes) -> Acknowledgement:
    body = open_envelope(envelope, keys=fed.keys[A], directory=fed.trusted, now=int(time.time()))
    assert isinstance(body.body, Acknowledgement)
    return body.body


# Who may call


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {new_token()}"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Digest whatever"},
        basic("ana", "wrong-password"),
        basic("case-system", "anything"),  # a system has no password
    ],
)
async def test_without_valid_credentials_every_route_answers_401(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await api.get("/v1/inbox", headers=headers)
    assert response.status_code == 401
    challenges = response.headers.get_list("www-authenticate")
    assert any(c.startswith("Basic") for c in challenges)
    assert any(c.startswith("Bearer") for c in challenges)


async def test_people_sign_in_with_a_password_and_systems_with_a_token(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.get("/v1/inbox", headers=basic("ana"))).status_code == 200
    assert (await api.get("/v1/inbox", headers=basic("sam"))).status_code == 200
    assert (await api.get("/v1/inbox", headers=BEARER)).status_code == 200


async def test_healthz_and_the_openapi_document_need_no_sign_in(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).status_code in (200, 503)
    assert (await api.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        b"Bearer \xff\xfe\xfd",
        b"Basic \xc3\xa9\xc3\xa9",
        "Bearer clk_é".encode(),
        b"Basic " + base64.b64encode(b"ana:\xff\xfe"),  # not UTF-8 inside
        b"\x00\x01",
        b"Bearer " + b"a" * 6_000,  # under the edge's 8 KiB header cap, over sign-in's 4 KiB
    ],
)
async def test_a_non_ascii_or_malformed_authorization_header_is_401_never_500(
    app: FastAPI, raw: bytes
) -> None:
    status, _, _ = await raw_request(app, "GET", "/v1/inbox", [(b"authorization", raw)], b"")
    assert status == 401


async def test_an_authorization_header_over_the_header_cap_is_431(app: FastAPI) -> None:
    huge = b"Bearer " + b"a" * 10_000
    status, _, _ = await raw_request(app, "GET", "/v1/inbox", [(b"authorization", huge)], b"")
    assert status == 431


async def test_two_authorization_headers_are_refused(app: FastAPI) -> None:
    both = [(b"authorization", BEARER["Authorization"].encode())] * 2
    status, _, _ = await raw_request(app, "GET", "/v1/inbox", both, b"")
    assert status == 401


async def raw_request(
    app: FastAPI, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, bytes, int]:
    """Call the ASGI app directly: (status, response body, how often it called `receive`)."""
    calls = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"gateway"), (b"content-type", b"application/json"), *headers],
        "client": ("192.0.2.7", 50000),
        "server": ("gateway", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], content, calls


async def test_an_anonymous_body_is_never_read(app: FastAPI) -> None:
    # Malformed JSON: parsed first, it would be a 422. Unread, it is a 401.
    status, _, calls = await raw_request(app, "POST", "/v1/referrals", [], b"{not json" * 1000)
    assert (status, calls) == (401, 0)
    wrong = [(b"authorization", b"Bearer " + new_token().encode())]
    status, _, calls = await raw_request(app, "POST", "/v1/referrals", wrong, b"{not json")
    assert (status, calls) == (401, 0)


async def test_a_signed_in_body_is_read_and_validated(app: FastAPI) -> None:
    auth = [(b"authorization", BEARER["Authorization"].encode())]
    status, _, calls = await raw_request(app, "POST", "/v1/referrals", auth, b"{not json")
    assert status == 422
    assert calls >= 1


# Answers name the signed-in user


async def test_an_answer_names_the_signed_in_user_not_the_caller_s_choice(
    api: httpx.AsyncClient, gateway: Gateway, fed: MemoryFederation
) -> None:
    message = await received(gateway, fed)
    chosen = {"name": "Someone Else", "role": "Director"}
    refused = await api.post(
        f"/v1/inbox/{message.message_id}/accept",
        json={"responded_by": chosen},
        headers=basic("ana"),
    )
    assert refused.status_code == 422
    # An unknown key is named by its position: keys can themselves be case data.
    assert "<extra field #1>" in refused.text

    accepted = await api.post(
        f"/v1/inbox/{message.message_id}/accept", json={"note": "on it"}, headers=basic("ana")
    )
    assert accepted.status_code == 200, accepted.text
    [answer] = written(gateway)
    assert answer.status == "accepted"
    assert answer.author == "ana"
    ack = opened_answer(fed, answer.envelope)
    assert ack.responded_by is not None
    assert (ack.responded_by.name, ack.responded_by.role) == ("Ana Lopes", "Duty social worker")
    assert ack.responded_by.phone == "+44 20 7946 0000"


async def test_a_system_s_answer_names_the_system(
    api: httpx.AsyncClient, gateway: Gateway, fed: MemoryFederation
) -> None:
    message = await received(gateway, fed)
    declined = await api.post(
        f"/v1/inbox/{message.message_id}/decline",
        json={"reason": {"category": "outside_remit"}},
        headers=BEARER,
    )
    assert declined.status_code == 200, declined.text
    answer = next(m for m in await gateway.store.due(now=time.time() + 60, limit=100) if m.author)
    assert answer.author == "case-system"
    ack = opened_answer(fed, answer.envelope)
    assert ack.responded_by is not None
    assert (ack.responded_by.name, ack.responded_by.role) == ("case-system", "Agency system")


async def test_a_sent_acknowledgement_names_the_signed_in_user(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    withdrawal: dict[str, Any] = {
        "status": "withdrawn",
        "answers": "00000000-0000-4000-8000-000000000000",
        "reason": {"category": "no_longer_needed"},
    }
    request = {"recipient": A, "body": withdrawal}
    chosen = {**withdrawal, "responded_by": {"name": "Someone Else", "role": "Director"}}
    refused = await api.post(
        "/v1/acknowledgements", json={**request, "body": chosen}, headers=basic("sam")
    )
    assert refused.status_code == 422
    incoherent = {**withdrawal, "status": "declined", "reason": None}
    invalid = await api.post(
        "/v1/acknowledgements", json={**request, "body": incoherent}, headers=basic("sam")
    )
    assert invalid.status_code == 422
    assert "SECRET" not in invalid.text
    sent = await api.post("/v1/acknowledgements", json=request, headers=basic("sam"))
    assert sent.status_code == 202, sent.text
    listed = await api.get(f"/v1/sent/{sent.json()['message_id']}", headers=basic("sam"))
    # Acknowledgements are not listed as sent messages; the outbox keeps the author.
    assert listed.status_code == 404
    [entry] = written(gateway)
    assert (entry.kind, entry.status, entry.author) == ("acknowledgement", "withdrawn", "sam")


async def test_a_sent_referral_keeps_who_sent_it(api: httpx.AsyncClient) -> None:
    body = json.loads(example_body(MessageKind.REFERRAL).model_dump_json())
    sent = await api.post("/v1/referrals", json={"recipient": A, "body": body}, headers=BEARER)
    assert sent.status_code == 202, sent.text
    item = await api.get(f"/v1/sent/{sent.json()['message_id']}", headers=basic("ana"))
    assert item.json()["sent_by"] == "case-system"


# Reads are recorded; supervisors list them


async def test_every_read_of_a_body_is_recorded_and_a_supervisor_lists_them(
    api: httpx.AsyncClient, gateway: Gateway, fed: MemoryFederation
) -> None:
    message = await received(gateway, fed)
    assert await gateway.store.reads(message.thread_id) == []
    read = await api.get(f"/v1/inbox/{message.message_id}", headers=basic("ana"))
    assert read.status_code == 200
    assert read.json()["body"]["narrative"] == SECRET
    assert (await api.get(f"/v1/inbox/{message.message_id}", headers=BEARER)).status_code == 200
    # Listing the inbox opens no body: nothing recorded for it.
    assert (await api.get("/v1/inbox", headers=basic("ana"))).status_code == 200

    listed = await api.get(f"/v1/threads/{message.thread_id}/reads", headers=basic("sam"))
    assert listed.status_code == 200
    rows = listed.json()
    assert [(r["reader"], r["channel"], r["message_id"]) for r in rows] == [
        ("ana", "api", message.message_id),
        ("case-system", "api", message.message_id),
    ]
    assert "SECRET" not in listed.text


@pytest.mark.parametrize("headers", [basic("ana"), BEARER])
async def test_only_a_supervisor_may_list_reads_and_sign_ins(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], fed: MemoryFederation
) -> None:
    message = await received(gateway, fed)
    reads = await api.get(f"/v1/threads/{message.thread_id}/reads", headers=headers)
    assert reads.status_code == 403
    assert (await api.get("/v1/sign-ins", headers=headers)).status_code == 403


async def test_no_body_leaves_when_its_read_cannot_be_recorded(
    app: FastAPI, gateway: Gateway, fed: MemoryFederation
) -> None:
    message = await received(gateway, fed)
    assert isinstance(gateway.store, RecordingStore)
    gateway.store.fail_reads = True
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
        response = await api.get(f"/v1/inbox/{message.message_id}", headers=basic("ana"))
    assert response.status_code == 500
    assert "SECRET" not in response.text


async def test_an_unknown_message_records_no_read(api: httpx.AsyncClient, gateway: Gateway) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await api.get(f"/v1/inbox/{missing}", headers=basic("ana"))).status_code == 404
    assert await gateway.store.reads(missing) == []


async def test_gateway_read_records_the_channel(gateway: Gateway, fed: MemoryFederation) -> None:
    message = await received(gateway, fed)
    ana = make_users()["ana"]
    _, body = await gateway.read(message.message_id, ana, ReadChannel.API)
    assert isinstance(body, Referral)
    assert body.narrative == SECRET
    [record] = await gateway.store.reads(message.thread_id)
    assert (record.reader, record.channel, record.message_id) == ("ana", "api", message.message_id)


# The sign-in log and throttling


async def test_sign_ins_are_logged_without_passwords_and_listed_for_a_supervisor(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    assert (await api.get("/v1/inbox", headers=basic("ana"))).status_code == 200
    assert (await api.get("/v1/inbox", headers=basic("ana"))).status_code == 200  # remembered
    assert (await api.get("/v1/inbox", headers=basic("ana", "guess-1"))).status_code == 401
    mistyped = basic(PASSWORDS["ana"], "ana")  # the password typed as the name
    assert (await api.get("/v1/inbox", headers=mistyped)).status_code == 401
    assert (await api.get("/v1/inbox", headers=BEARER)).status_code == 200
    listed = await api.get("/v1/sign-ins", headers=basic("sam"))
    assert listed.status_code == 200
    log = [(r["name"], r["method"], r["outcome"]) for r in listed.json()]
    assert log == [
        ("sam", "password", "succeeded"),
        ("case-system", "token", "succeeded"),
        (None, "password", "failed"),
        ("ana", "password", "failed"),
        ("ana", "password", "succeeded"),
    ]
    assert all(r["address"] == "127.0.0.1" for r in listed.json())
    assert PASSWORDS["ana"] not in listed.text
    assert "guess-1" not in listed.text


async def test_repeated_failures_are_answered_429_with_retry_after(gateway: Gateway) -> None:
    now = [1000.0]
    throttle = SignInThrottle(free_failures=2, base_delay_s=30.0)
    app = create_api(
        gateway, make_users(), manage_lifecycle=False, throttle=throttle, clock=lambda: now[0]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
        for _ in range(2):
            assert (await api.get("/v1/inbox", headers=basic("ana", "wrong"))).status_code == 401
        waiting = await api.get("/v1/inbox", headers=basic("ana"))  # even the right password
        assert waiting.status_code == 429
        assert waiting.headers["retry-after"] == "30"
        now[0] += 31
        assert (await api.get("/v1/inbox", headers=basic("ana"))).status_code == 200
    failed = [s for s in await gateway.store.sign_ins() if s.outcome is SignInOutcome.FAILED]
    assert len(failed) == 2  # the throttled attempt was not checked, nor logged as a sign-in
    assert all(s.method is SignInMethod.PASSWORD for s in failed)


async def test_a_sign_in_that_cannot_be_logged_is_refused(gateway: Gateway) -> None:
    async def broken(_: object) -> None:
        raise CaselinkError("the sign-in log is down")

    gateway.store.record_sign_in = broken  # type: ignore[method-assign]
    app = create_api(gateway, make_users(), manage_lifecycle=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
        response = await api.get("/v1/inbox", headers=basic("ana"))
    assert response.status_code == 503


async def test_gateway_respond_names_its_user_whatever_the_answer_held(
    gateway: Gateway, fed: MemoryFederation
) -> None:
    # An adapter calling the service directly cannot name someone else either.
    message = await received(gateway, fed)
    claimed = Acknowledgement.model_validate(
        {
            "status": "accepted",
            "answers": message.message_id,
            "responded_by": {"name": "Someone Else", "role": "Director"},
        }
    )
    await gateway.respond(message.message_id, claimed, by=make_users()["sam"])
    [answer] = written(gateway)
    assert answer.author == "sam"
    ack = opened_answer(fed, answer.envelope)
    assert ack.responded_by is not None
    assert ack.responded_by.name == "sam"
