"""Adapters plug into the gateway's API: their routes behind its sign-in (or their own, for
the paths they authenticate themselves), started after the gateway and stopped before it."""

from collections.abc import Collection
from pathlib import Path

import pytest
from fastapi import APIRouter, Request

from broker.gateway.adapter_port import AdapterConfigError, AdapterContext, build_adapters
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway

A = "oscc-north"


class Recorder:
    """An adapter with one signed-in route and one it authenticates itself."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[str] = []

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/recorder/signed-in")
        async def signed_in() -> dict[str, str]:
            return {"ok": "signed in"}

        @router.post("/recorder/webhook")
        async def webhook(request: Request) -> dict[str, str]:
            return {"ok": "self-authenticated"}

        return router

    def self_authenticated_paths(self) -> Collection[str]:
        return ["/recorder/webhook"]

    async def start(self) -> None:
        self.events.append("start")

    async def stop(self) -> None:
        self.events.append("stop")


async def test_routes_sign_in_and_lifecycle() -> None:
    recorder = Recorder()
    async with api_of(make_gateway(memory_federation(), A), adapters=[recorder]) as api:
        assert recorder.events == ["start"]
        assert (await api.get("/recorder/signed-in")).status_code == 200
        anonymous = {"Authorization": ""}
        assert (await api.get("/recorder/signed-in", headers=anonymous)).status_code == 401
        assert (await api.post("/recorder/webhook", headers=anonymous)).status_code == 200
    assert recorder.events == ["start", "stop"]


def test_an_unknown_adapter_table_is_one_line(tmp_path: Path) -> None:
    context = AdapterContext(
        gateway=make_gateway(memory_federation(), A),
        folder=tmp_path,
        clock=lambda: 0.0,
    )
    with pytest.raises(AdapterConfigError, match=r"^\[adapters\.fax\]: no such adapter"):
        build_adapters({"fax": {}}, context)
