"""Fixtures: the dashboard app over a seeded in-memory store, and signed-in clients."""

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from fastapi import FastAPI

from broker.tracker.memory_store import MemoryTrackerStore
from broker.web import create_tracker_app
from tests.unit.web.seed import (
    METRICS_TOKEN,
    NAMES,
    PASSWORDS,
    SECRET,
    Clock,
    Scenario,
    make_users,
    new_store,
    seed,
)

Client = httpx.AsyncClient
Login = Callable[[str], Awaitable[httpx.AsyncClient]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store() -> MemoryTrackerStore:
    return new_store()


@pytest.fixture
async def scenario(store: MemoryTrackerStore) -> Scenario:
    return await seed(store)


@pytest.fixture
def app(store: MemoryTrackerStore, clock: Clock, scenario: Scenario) -> FastAPI:
    return create_tracker_app(
        store,
        make_users(),
        session_secret=SECRET,
        clock=clock,
        metrics_token=METRICS_TOKEN,
        agency_names=NAMES.get,
    )


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[Client]:
    # https: the session cookie is Secure, and httpx sends it back over https only.
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="https://dash.test") as client:
        yield client


@pytest.fixture
async def login(app: FastAPI) -> AsyncIterator[Login]:
    """Sign in a user by name through the login form; returns their client."""
    clients: list[Client] = []

    async def sign_in(name: str) -> Client:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="https://dash.test")
        clients.append(client)
        response = await client.post("/login", data={"name": name, "password": PASSWORDS[name]})
        assert response.status_code == 303, response.text
        return client

    yield sign_in
    for client in clients:
        await client.aclose()


@pytest.fixture
async def cora(login: Login) -> Client:
    """The coordinator."""
    return await login("cora")


@pytest.fixture
async def sam(login: Login) -> Client:
    """The supervisor of hospital-east."""
    return await login("sam")


@pytest.fixture
async def pia(login: Login) -> Client:
    """The supervisor of police-west."""
    return await login("pia")
