"""The police adapter built for tests: secrets on disk, a signed poster, a local receiver."""

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.police import PoliceAdapter, build
from adapters.police.sample import sample_notification
from adapters.police.signing import format_secret, parse_secret, signature
from broker.gateway.adapter_port import AdapterContext
from broker.gateway.service import Gateway
from broker.keystore import write_private
from tests.gateway_users import PASSWORDS

POLICE = "police-west"
SOCIAL = "social-east"
SYSTEM = "niche-west"
SUPERVISOR = {
    "Authorization": "Basic " + base64.b64encode(f"sam:{PASSWORDS['sam']}".encode()).decode()
}
# The sergeant who authorises sharing without consent: their collar number is the sign-in
# name of the supervisor account `sam` of tests/gateway_users (matched casefolded).
AUTHORISED_BY = {
    "name": "DS Tom Okafor",
    "role": "Detective Sergeant, Public Protection Unit",
    "collar_number": "SAM",
}


def notification(**options: Any) -> dict[str, Any]:
    """adapters/police/sample.py's notification, authorised by a supervisor of the gateway."""
    return sample_notification(**({"authorised_by": AUTHORISED_BY} | options))


def new_secret_file(path: Path) -> str:
    """A fresh whsec_ secret written 0600 at `path`; returns its text."""
    text = format_secret(os.urandom(32))
    write_private(path, text.encode())
    return text


def police_table(folder: Path, callback_url: str) -> dict[str, Any]:
    """An `[adapters.police]` table with fresh secrets in `folder`."""
    secrets = folder / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    if not (secrets / "in.whsec").exists():
        new_secret_file(secrets / "in.whsec")
        new_secret_file(secrets / "out.whsec")
    return {
        "send_as": "case-system",
        "recipient": SOCIAL,
        "store_url": "sqlite+aiosqlite:///police/police.db",
        "poll_s": 0.05,
        "systems": {
            SYSTEM: {
                "secret_file": "secrets/in.whsec",
                "callback_url": callback_url,
                "callback_secret_file": "secrets/out.whsec",
            }
        },
    }


def make_adapter(
    gateway: Gateway,
    folder: Path,
    callback_url: str = "http://127.0.0.1:9/unused",
    *,
    schedule: Sequence[float] = (0, 0.05, 0.05),
    clock: Callable[[], float] = time.time,
) -> PoliceAdapter:
    context = AdapterContext(gateway=gateway, folder=folder, clock=clock)
    return build(police_table(folder, callback_url), context, schedule=schedule)


def secret_key(folder: Path, name: str = "in.whsec") -> bytes:
    return parse_secret((folder / "secrets" / name).read_text())


def signed(
    key: bytes,
    body: bytes,
    *,
    webhook_id: str = "msg_2hRyCkq1WZ4MBd3Ia0gQeKxp",
    timestamp: int | None = None,
) -> dict[str, str]:
    """The headers a police system sends with `body`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature(key, webhook_id, stamp, body),
        "content-type": "application/json",
    }


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


@dataclass
class Receiver:
    """A police system's callback endpoint on 127.0.0.1: answers `script` in turn, then 204."""

    script: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/caselink/callbacks"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append((headers, body))
            status = self.script.pop(0) if self.script else 204
            self.answered.append(status)
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@asynccontextmanager
async def receiver(script: Sequence[int] = ()) -> AsyncIterator[Receiver]:
    endpoint = Receiver(script=list(script))
    server = await asyncio.start_server(endpoint.handle, "127.0.0.1", 0)
    endpoint.port = server.sockets[0].getsockname()[1]
    try:
        yield endpoint
    finally:
        server.close()
        await server.wait_closed()
