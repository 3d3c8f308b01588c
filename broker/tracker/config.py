"""Tracker settings: a TOML file, overridden field by field by CASELINK_TRACKER_* variables."""

import tomllib
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from broker.keystore import read_private
from broker.settings_file import FileSettings, load_settings_file
from schemas.ids import AgencyId


class TrackerSettings(FileSettings):
    """The tracker service and its dashboard. Paths are relative to the config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_TRACKER_", extra="forbid")

    amqp_url: str = Field(description="The tracker user's URL: amqp://tracker:PASSWORD@HOST/VHOST")
    directory: Path
    root_pub: Path
    store_url: str = Field(description="sqlite+aiosqlite:///tracker.db or postgresql+asyncpg://…")
    sla_policy: Path | None = Field(
        default=None, description="SLA TOML; built-in defaults if unset"
    )
    coordinators: Annotated[list[AgencyId], Field(min_length=1, max_length=100)]
    users_file: Path
    session_secret_file: Path
    listen: str = "127.0.0.1:8090"
    user_prefix: str = ""
    # Deeper than a batch (512), so that the next batch arrives while one is stored.
    prefetch: Annotated[int, Field(ge=1, le=10_000)] = 2048
    verify_workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description="Processes checking header signatures beside the event loop"
    )
    sweep_interval_s: Annotated[float, Field(gt=0)] = 30.0
    watchdog_interval_s: Annotated[float, Field(gt=0)] = 2.0
    secure_cookie: bool = True

    def session_secret(self) -> bytes:
        """The key that signs dashboard sessions; the web app refuses one under 32 bytes.

        Raises KeyFilePermissionError when group or others may read session_secret_file.
        """
        return read_private(self.session_secret_file).strip()

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


_PATH_FIELDS = ("directory", "root_pub", "sla_policy", "users_file", "session_secret_file")


_SECRET_URLS = ("amqp_url", "store_url")


def load_tracker_settings(path: Path) -> TrackerSettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only.

    Raises KeyFilePermissionError when the file holds a password (in amqp_url or store_url)
    and group or others may read it. Without one (passwords in CASELINK_TRACKER_AMQP_URL and
    CASELINK_TRACKER_STORE_URL) it may be readable.
    """
    settings = load_settings_file(TrackerSettings, path, _PATH_FIELDS)
    if _holds_password(tomllib.loads(path.read_text())):
        read_private(path)  # for its check: refused like a key file when others can read it
    return settings


def _holds_password(document: dict[str, object]) -> bool:
    for name in _SECRET_URLS:
        value = document.get(name)
        if isinstance(value, str) and _url_password(value):
            return True
    return False


def _url_password(url: str) -> bool:
    try:
        parts = urlsplit(url)
        # asyncpg also takes ?password=... in the query.
        return bool(parts.password) or "password" in parse_qs(parts.query)
    except ValueError:
        return True  # unparseable: it may well hold one, so it is kept as if it did
