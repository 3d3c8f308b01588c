"""`caselink gateway` and `caselink tracker` over HTTPS, as operators run them: a certificate
made here, /healthz fetched with httpx trusting only it, HSTS on the answer, and nothing
served over plain HTTP on that port."""

import ssl
from pathlib import Path

import httpx
import pytest

from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    gateway_config,
    gateway_process,
)
from tests.integration.test_tracker_process import tracker_config, tracker_process
from tests.server_certs import ServerCertificate, self_signed

pytestmark = pytest.mark.rabbitmq

HSTS = "max-age=31536000; includeSubDomains"


def with_tls(config: Path, pair: ServerCertificate) -> None:
    with config.open("a") as settings:
        settings.write(f'tls_certificate = "{pair.certificate}"\ntls_key = "{pair.key}"\n')


async def healthz_over_https(port: int, trusted: Path) -> httpx.Response | None:
    """/healthz answered with 200 over TLS by the server holding `trusted`'s key; else None."""
    context = ssl.create_default_context(cafile=trusted)
    try:
        async with httpx.AsyncClient(verify=context) as client:
            response = await client.get(f"https://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.TransportError:
        return None
    return response if response.status_code == 200 else None


async def answers_over_https(port: int, pair: ServerCertificate) -> httpx.Response:
    found: list[httpx.Response] = []

    async def healthy() -> bool:
        response = await healthz_over_https(port, pair.certificate)
        found.extend([] if response is None else [response])
        return response is not None

    await eventually(healthy, "/healthz answering 200 over HTTPS", timeout_s=60)
    return found[0]


async def refuses_plain_http(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    except httpx.TransportError:  # uvicorn drops a request that is not a TLS handshake
        return True
    return False


async def test_the_gateway_serves_https_with_hsts(keyed: KeyedFederation, tmp_path: Path) -> None:
    port = free_port()
    config = gateway_config(keyed, "oscc-north", tmp_path / "gw", port)
    pair = self_signed(tmp_path, "gateway")
    with_tls(config, pair)
    with gateway_process(config):
        response = await answers_over_https(port, pair)
        assert response.headers["strict-transport-security"] == HSTS
        assert response.json()["status"] == "ok"
        assert await refuses_plain_http(port)
        # Another certificate's holder is not this server: verification fails.
        other = self_signed(tmp_path, "other")
        assert await healthz_over_https(port, other.certificate) is None


async def test_the_dashboard_serves_https_with_hsts(keyed: KeyedFederation, tmp_path: Path) -> None:
    port = free_port()
    folder = tmp_path / "tracker"
    folder.mkdir(mode=0o700)
    config = tracker_config(keyed, folder, port)  # secure_cookie = false: HTTPS wins
    pair = self_signed(tmp_path, "dashboard")
    with_tls(config, pair)
    with tracker_process(config, tmp_path / "tracker.log"):
        response = await answers_over_https(port, pair)
        assert response.headers["strict-transport-security"] == HSTS
        assert await refuses_plain_http(port)
        context = ssl.create_default_context(cafile=pair.certificate)
        async with httpx.AsyncClient(verify=context) as client:
            signed_in = await client.post(
                f"https://127.0.0.1:{port}/login",
                data={"name": "coord", "password": "synthetic pass"},
            )
        assert signed_in.status_code == 303
        assert signed_in.headers["strict-transport-security"] == HSTS
        cookie = signed_in.headers["set-cookie"].lower()
        assert "; secure" in cookie  # though the settings say secure_cookie = false
