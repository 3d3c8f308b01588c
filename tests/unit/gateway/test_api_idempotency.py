"""Idempotency-Key on submissions: a retry answers the first answer, never a second message."""

import asyncio
import base64
from typing import Any

import httpx
import pytest

from broker.gateway.idempotency import KEY_LIFETIME_S, request_hash, scoped_key
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import SubmissionKey
from broker.gateway.service import Gateway
from schemas.kinds import MessageKind
from tests.gateway_users import PASSWORDS
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import Clock, api_of, make_gateway, referral_request

A, B = "oscc-north", "social-east"


def gateway(store: MemoryGatewayStore | None = None, clock: Clock | None = None) -> Gateway:
    return make_gateway(
        memory_federation(), A, store=store or MemoryGatewayStore(), clock=clock or Clock()
    )


async def post(api: httpx.AsyncClient, key: str | None, **body: Any) -> httpx.Response:
    headers = {} if key is None else {"Idempotency-Key": key}
    return await api.post("/v1/referrals", json=referral_request(B, **body), headers=headers)


async def test_two_users_keys_never_meet() -> None:
    # Keys are each user's own: a caseworker who happens to pick the system's key sends
    # their own referral, not the system's again.
    gw = gateway()
    ana = "Basic " + base64.b64encode(f"ana:{PASSWORDS['ana']}".encode()).decode()
    async with api_of(gw) as api:
        system = await post(api, "shared-1")
        caseworker = await api.post(
            "/v1/referrals",
            json=referral_request(B),
            headers={"Idempotency-Key": "shared-1", "Authorization": ana},
        )
        sent = await gw.store.sent()
    assert system.status_code == caseworker.status_code == 202
    assert system.json()["message_id"] != caseworker.json()["message_id"]
    assert len(sent) == 2


async def test_a_retry_answers_the_first_answer_and_sends_once() -> None:
    gw = gateway()
    async with api_of(gw) as api:
        first = await post(api, "retry-1")
        again = await post(api, "retry-1")
        # Same request, written differently (key order): the same request.
        request = referral_request(B)
        reordered = dict(reversed(list(request.items())))
        third = await api.post(
            "/v1/referrals", json=reordered, headers={"Idempotency-Key": "retry-1"}
        )
        sent = await gw.store.sent()
    assert first.status_code == again.status_code == third.status_code == 202
    assert first.json() == again.json() == third.json()
    assert [s.message.message_id for s in sent] == [first.json()["message_id"]]


async def test_without_a_key_each_submission_is_a_new_message() -> None:
    gw = gateway()
    async with api_of(gw) as api:
        first, second = await post(api, None), await post(api, None)
        assert len(await gw.store.sent()) == 2
    assert first.json()["message_id"] != second.json()["message_id"]


async def test_the_same_key_with_another_request_is_422() -> None:
    gw = gateway()
    async with api_of(gw) as api:
        first = await post(api, "reused")
        other = await post(api, "reused", narrative="Another synthetic narrative")
        assert len(await gw.store.sent()) == 1
    assert first.status_code == 202
    assert other.status_code == 422
    assert other.json() == {"detail": "this Idempotency-Key was used for another request"}


async def test_the_same_key_on_another_endpoint_is_another_request() -> None:
    referral = referral_request(B)
    as_referral = request_hash(MessageKind.REFERRAL, _submission(referral))
    as_consent = request_hash(MessageKind.CONSENT, _submission(referral))
    assert as_referral != as_consent


def _submission(request: dict[str, Any]) -> Any:
    from broker.gateway.api import Submission
    from schemas.referral import Referral

    return Submission[Referral].model_validate(request)


@pytest.mark.parametrize(
    "key", ["", " ", "x" * 129, "caf\u00e9", "tab\there", "new\u2028line", "\x7f"]
)
async def test_a_malformed_key_is_400_with_one_line(key: str) -> None:
    gw = gateway()
    async with api_of(gw) as api:
        response = await api.post(
            "/v1/referrals",
            json=referral_request(B),
            headers=[("Idempotency-Key", key.encode("utf-8"))],
        )
        assert await gw.store.sent() == []
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail == "Idempotency-Key must be 1-128 printable ASCII characters"


@pytest.mark.parametrize("key", ["k", "x" * 128, '"8e03978e-40d5-43e8-bc93-6894a57f9324"', "a b"])
async def test_well_formed_keys_are_taken(key: str) -> None:
    async with api_of(gateway()) as api:
        assert (await post(api, key)).status_code == 202


class HeldClaims(MemoryGatewayStore):
    """Claims wait for `release`: the first request with a key stays in flight meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.claiming = asyncio.Event()

    async def claim_submission(
        self, claim: SubmissionKey, *, fresh_after: float
    ) -> tuple[SubmissionKey, bool]:
        self.claiming.set()
        await self.release.wait()
        return await super().claim_submission(claim, fresh_after=fresh_after)


async def test_a_key_in_flight_is_409_and_the_first_goes_through() -> None:
    store = HeldClaims()
    gw = gateway(store)
    async with api_of(gw) as api:
        first = asyncio.create_task(post(api, "in-flight"))
        await asyncio.wait_for(store.claiming.wait(), 10)
        second = await post(api, "in-flight")
        store.release.set()
        answered = await first
        assert len(await gw.store.sent()) == 1
    assert second.status_code == 409
    assert second.json() == {"detail": "a request with this Idempotency-Key is in progress"}
    assert answered.status_code == 202


async def test_a_key_is_honoured_for_a_day_then_forgotten() -> None:
    clock = Clock()
    gw = gateway(clock=clock)
    async with api_of(gw) as api:
        first = (await post(api, "daily")).json()
        clock.now += KEY_LIFETIME_S - 60
        assert (await post(api, "daily")).json() == first
        clock.now += 120
        later = (await post(api, "daily")).json()
        assert len(await gw.store.sent()) == 2
    assert later["message_id"] != first["message_id"]


async def test_old_keys_are_purged_by_the_retention_sweep() -> None:
    clock = Clock()
    store = MemoryGatewayStore()
    gw = gateway(store, clock)
    async with api_of(gw) as api:
        await post(api, "purged")
    claim = SubmissionKey("other", "0" * 64, "m", "t", clock.now)
    assert await store.claim_submission(claim, fresh_after=0.0) == (claim, False)
    clock.now += KEY_LIFETIME_S + 1
    await gw.retention.sweep()
    assert await store.purge_submissions(before=clock.now) == 0


async def test_a_submission_interrupted_before_its_commit_is_completed_by_the_retry() -> None:
    # The key was claimed (its ids allocated) but the gateway stopped before the outbox
    # commit: the retry seals again under the same ids, once.
    clock = Clock()
    store = MemoryGatewayStore()
    gw = gateway(store, clock)
    request = referral_request(B)
    fingerprint = request_hash(MessageKind.REFERRAL, _submission(request))
    held = SubmissionKey(
        scoped_key("case-system", "crashed"),  # the API's system user sent it
        fingerprint,
        "00000000-0000-4000-8000-00000000000a",
        "00000000-0000-4000-8000-00000000000b",
        clock.now,
    )
    await store.claim_submission(held, fresh_after=0.0)
    async with api_of(gw) as api:
        retried = await api.post(
            "/v1/referrals", json=request, headers={"Idempotency-Key": "crashed"}
        )
        again = await api.post(
            "/v1/referrals", json=request, headers={"Idempotency-Key": "crashed"}
        )
        sent = await store.sent()
    assert retried.status_code == again.status_code == 202
    assert (
        retried.json()
        == again.json()
        == {
            "message_id": held.message_id,
            "thread_id": held.thread_id,
        }
    )
    assert [s.message.message_id for s in sent] == [held.message_id]
