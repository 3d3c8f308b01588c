"""The gateway's HTTP API at its edge: body and header caps, 422s that echo nothing, security
headers, no docs pages loading script from elsewhere. On the in-memory broker."""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from broker.gateway.api import create_api
from broker.gateway.config import MAX_REQUEST_BYTES, GatewaySettings
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.service import Gateway
from broker.http_edge import CONTENT_SECURITY_POLICY, HSTS, MAX_COOKIE_BYTES
from schemas.examples import example_body
from schemas.kinds import MessageKind
from schemas.sealed_envelope import MAX_ENVELOPE_BYTES
from tests.consents import grant_example_consent
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.memory_federation import memory_federation

AUTH = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}
AGENCY = "oscc-north"
CASE_KEYS = ("Jane Roe born 2012-03-04", "CASE-4711 Smith", "Baby Doe")
MARKER = "SECRET-MARKER"


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    fed = memory_federation()
    gateway = Gateway(
        keys=fed.keys[AGENCY],
        directory=fed.trusted,
        store=MemoryGatewayStore(),
        publisher=fed.agency_publisher(AGENCY),
        subscription=fed.subscription(fed.topology.agency_queue(AGENCY)),
        topology=fed.topology,
    )
    await gateway.start()
    await grant_example_consent(gateway)
    try:
        yield gateway
    finally:
        await gateway.stop()


def client(gateway: Gateway, base_url: str = "http://gateway", **kwargs: Any) -> httpx.AsyncClient:
    app = create_api(gateway, make_users(), manage_lifecycle=False, **kwargs)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=base_url, headers=AUTH)


def referral() -> dict[str, Any]:
    return json.loads(example_body(MessageKind.REFERRAL).model_dump_json())


async def test_unknown_keys_are_reported_by_position_never_by_name(gateway: Gateway) -> None:
    body = referral()
    body["narrative"] = MARKER
    body["subject"][CASE_KEYS[0]] = MARKER
    body["subject"][CASE_KEYS[1]] = MARKER
    body[CASE_KEYS[2]] = {"nested": MARKER}
    async with client(gateway) as api:
        response = await api.post(
            "/v1/referrals", json={"recipient": "social-east", "body": body, "CASE-9": 1}
        )
    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["detail"]] == [
        ["body", "body", "subject", "<extra field #1>"],
        ["body", "body", "subject", "<extra field #2>"],
        ["body", "body", "<extra field #1>"],
        ["body", "<extra field #1>"],
    ]
    for item in response.json()["detail"]:
        assert item.keys() == {"loc", "msg", "type"}  # no input, no ctx
    for secret in (*CASE_KEYS, MARKER, "Jane", "4711", "CASE", "Doe"):
        assert secret not in response.text


async def test_a_body_over_the_cap_is_413_and_not_read_past_it(gateway: Gateway) -> None:
    chunks_read = 0

    async def endless() -> AsyncIterator[bytes]:
        # Chunked: no Content-Length to refuse up front, so the bytes are counted.
        nonlocal chunks_read
        for _ in range(1000):
            chunks_read += 1
            yield b" " * 65536

    async with client(gateway, max_request_bytes=256 * 1024) as api:
        response = await api.post(
            "/v1/referrals", content=endless(), headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 413
        assert response.json() == {"detail": "request body exceeds 262144 bytes"}
        assert chunks_read < 10
        declared = await api.post("/v1/referrals", content=b"{" + b" " * 300_000 + b"}")
        assert declared.status_code == 413


async def test_the_default_cap_is_a_little_above_the_largest_envelope(gateway: Gateway) -> None:
    assert MAX_ENVELOPE_BYTES < MAX_REQUEST_BYTES <= MAX_ENVELOPE_BYTES + 1024 * 1024
    assert GatewaySettings.model_fields["max_request_bytes"].default == MAX_REQUEST_BYTES
    app = create_api(gateway, make_users(), manage_lifecycle=False)
    sent: list[dict[str, Any]] = []

    async def no_body() -> dict[str, Any]:
        raise AssertionError("the body was read")

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    length = str(100 * 1024 * 1024).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/referrals",
        "raw_path": b"/v1/referrals",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-length", length), (b"content-type", b"application/json")],
    }
    await app(scope, no_body, keep)
    assert sent[0]["status"] == 413


async def test_a_valid_submission_within_the_cap_is_accepted(gateway: Gateway) -> None:
    async with client(gateway) as api:
        response = await api.post(
            "/v1/referrals", json={"recipient": "social-east", "body": referral()}
        )
    assert response.status_code == 202, response.text


async def test_oversized_cookies_and_headers_are_431(gateway: Gateway) -> None:
    async with client(gateway) as api:
        cookie = await api.get("/v1/inbox", headers={"Cookie": "a=" + "b" * MAX_COOKIE_BYTES})
        assert cookie.status_code == 431
        headers = {f"x-filler-{i}": "v" * 200 for i in range(60)}
        assert (await api.get("/v1/inbox", headers=headers)).status_code == 431
        assert (await api.get("/v1/inbox")).status_code == 200


def answers() -> Iterator[tuple[str, str, dict[str, Any] | None, dict[str, str] | None, int]]:
    yield "GET", "/v1/inbox", None, None, 200
    yield "GET", "/v1/inbox", None, {"Authorization": ""}, 401
    yield "GET", "/v1/inbox/00000000-0000-4000-8000-000000000000", None, None, 404
    yield "POST", "/v1/referrals", {"recipient": "nobody"}, None, 422
    yield "GET", "/healthz", None, None, 200


@pytest.mark.parametrize(("method", "path", "payload", "headers", "status"), list(answers()))
async def test_every_answer_carries_the_security_headers(
    gateway: Gateway,
    method: str,
    path: str,
    payload: dict[str, Any] | None,
    headers: dict[str, str] | None,
    status: int,
) -> None:
    async with client(gateway, base_url="https://gateway") as api:
        response = await api.request(method, path, json=payload, headers=headers)
    assert response.status_code == status  # each case reaches the branch it is there for
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["strict-transport-security"] == HSTS


async def test_no_hsts_over_plain_http(gateway: Gateway) -> None:
    async with client(gateway) as api:
        response = await api.get("/v1/inbox")
    assert "strict-transport-security" not in response.headers


async def test_no_docs_pages_only_the_openapi_document(gateway: Gateway) -> None:
    # FastAPI's /docs and /redoc load their script from a CDN and run an inline one.
    async with client(gateway) as api:
        assert (await api.get("/docs")).status_code == 404
        assert (await api.get("/redoc")).status_code == 404
        document = await api.get("/openapi.json")
    assert document.status_code == 200
    assert "/v1/referrals" in document.json()["paths"]
