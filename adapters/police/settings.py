"""The `[adapters.police]` table of a gateway's config: who sends, to whom, which systems.

    [adapters.police]
    send_as = "police-adapter"          # a system user of the gateway's users file
    recipient = "social-east"           # the social-services agency each child is referred to
    store_url = "sqlite+aiosqlite:///police/police.db"   # relative to the config's folder

    [adapters.police.systems.niche-west]   # one table per police system posting to us
    secret_file = "secrets/niche-west.whsec"           # whsec_..., mode 0600: verifies its posts
    callback_url = "https://niche.west.police.example/caselink/callbacks"
    callback_secret_file = "secrets/niche-west-callback.whsec"   # 0600: signs our callbacks

Paths and a SQLite store_url are relative to the gateway config's folder. Secret files are
refused when group or others may read them (broker/keystore.py).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.police.signing import TOLERANCE_S
from broker.gateway.adapter_port import AdapterConfigError
from broker.settings_file import sqlite_url_relative_to
from schemas.ids import AgencyId

DEFAULT_MAX_BODY_BYTES = 256 * 1024
"""A notification of ten children with long circumstances is under 100 kB; Standard
Webhooks asks senders to keep payloads under 20 kB."""

SystemName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class SystemSettings(BaseModel):
    """One police system: the secret it signs with, where and how we call it back."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret_file: Path
    callback_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2_000)]
    callback_secret_file: Path

    @field_validator("callback_url")
    @classmethod
    def _https_unless_loopback(cls, url: str) -> str:
        # Callbacks name the notification, the child's police reference and categories:
        # signed is not private. Plain http only to this machine (a local relay, tests).
        host = urlsplit(url).hostname or ""
        if url.startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("a callback URL is https, except to this machine")
        return url


class PoliceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    send_as: str
    recipient: AgencyId
    store_url: str = "sqlite+aiosqlite:///police/police.db"
    systems: Annotated[dict[SystemName, SystemSettings], Field(min_length=1, max_length=50)]
    max_body_bytes: Annotated[int, Field(ge=4_096, le=16 * 1024**2)] = DEFAULT_MAX_BODY_BYTES
    tolerance_s: Annotated[int, Field(ge=30, le=3_600)] = TOLERANCE_S
    # How often the inbox is looked at for new answers to our referrals.
    poll_s: Annotated[float, Field(gt=0, le=300)] = 2.0
    # A callback attempt's whole time (connect, send, answer); the spec suggests 15 to 30 s.
    callback_timeout_s: Annotated[float, Field(gt=0, le=60)] = 15.0


def load(table: Mapping[str, Any], folder: Path) -> PoliceSettings:
    """The table as settings, paths made absolute against `folder`.

    Raises AdapterConfigError (one line, naming the fields, never a value).
    """
    try:
        settings = PoliceSettings.model_validate(dict(table))
    except ValidationError as error:
        fields = sorted({".".join(map(str, e["loc"])) for e in error.errors()})
        raise AdapterConfigError(f"[adapters.police]: invalid {', '.join(fields)}") from None
    systems = {
        name: system.model_copy(
            update={
                "secret_file": folder / system.secret_file,
                "callback_secret_file": folder / system.callback_secret_file,
            }
        )
        for name, system in settings.systems.items()
    }
    return settings.model_copy(
        update={
            "systems": systems,
            "store_url": sqlite_url_relative_to(settings.store_url, folder),
        }
    )
