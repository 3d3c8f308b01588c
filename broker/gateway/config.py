"""Gateway settings: a TOML file, overridden field by field by CASELINK_* variables."""

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from broker.keystore import read_private, read_token
from broker.settings_file import ConfigError, FileSettings, load_settings_file
from schemas.ids import AgencyId


class GatewaySettings(FileSettings):
    """One agency's gateway. Paths (and an SQLite store_url's file) are relative to the
    config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_", extra="forbid")

    agency_id: AgencyId
    key_file: Path
    directory: Path
    root_pub: Path
    amqp_url: str = Field(description="amqp://USER:PASSWORD@HOST:PORT/VHOST")
    store_url: str = Field(description="SQLAlchemy async URL, e.g. sqlite+aiosqlite:///inbox.db")
    api_listen: str = "127.0.0.1:8080"
    token_file: Path
    # Prometheus presents this bearer token at /metrics; unset, /metrics is not served.
    metrics_token_file: Path | None = None
    user_prefix: str = ""
    # Unacked deliveries in flight; bounds memory. Several inbox batches' worth, so RabbitMQ
    # keeps delivering while one batch is being opened and committed.
    prefetch: Annotated[int, Field(ge=1, le=10_000)] = 1024
    # Unconfirmed publishes in flight from the outbox.
    publish_window: Annotated[int, Field(ge=1, le=10_000)] = 256
    watchdog_interval_s: Annotated[float, Field(gt=0)] = 2.0

    @property
    def api_host(self) -> str:
        return self.api_listen.rsplit(":", 1)[0]

    @property
    def api_port(self) -> int:
        return int(self.api_listen.rsplit(":", 1)[1])

    def api_token(self) -> str:
        """The bearer token the agency's own systems must present.

        Raises KeyFilePermissionError when group or others may read token_file (as for a
        private key), ConfigError when it holds no token.
        """
        token = read_private(self.token_file).decode("ascii", errors="replace").strip()
        if not token:
            raise ConfigError(f"{self.token_file} holds no token (`caselink keys secret`)")
        return token

    def metrics_token(self) -> str | None:
        """The token /metrics takes, or None when metrics_token_file is unset.

        Raises KeyFilePermissionError (not 0600) or ConfigError (no usable token).
        """
        return None if self.metrics_token_file is None else read_token(self.metrics_token_file)


_PATH_FIELDS = ("key_file", "directory", "root_pub", "token_file", "metrics_token_file")


def load_settings(path: Path) -> GatewaySettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only."""
    return load_settings_file(GatewaySettings, path, _PATH_FIELDS, url_fields=("store_url",))
