"""Tracker settings: a TOML file, overridden field by field by CASELINK_TRACKER_* variables."""

import ssl
from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from broker.keystore import read_private, read_token, refuse_readable_passwords
from broker.settings_file import FileSettings, load_settings_file
from broker.tls.server import server_context
from broker.tls.settings import TLS_PATH_FIELDS, AmqpTlsFields
from broker.topology.names import QueueLimits
from schemas.ids import AgencyId


class TrackerSettings(FileSettings, AmqpTlsFields):
    """The tracker service and its dashboard. Paths (and an SQLite store_url's file) are
    relative to the config file's folder."""

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
    # Prometheus presents this bearer token at /metrics; unset, /metrics is not served.
    metrics_token_file: Path | None = None
    listen: str = "127.0.0.1:8090"
    user_prefix: str = ""
    # Deeper than a batch (512), so that the next batch arrives while one is stored.
    prefetch: Annotated[int, Field(ge=1, le=10_000)] = 2048
    verify_workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1, description="Processes checking header signatures beside the event loop"
    )
    sweep_interval_s: Annotated[float, Field(gt=0)] = 30.0
    watchdog_interval_s: Annotated[float, Field(gt=0)] = 2.0
    # How often the directory file is looked at: a newer one comes into force without a restart.
    directory_poll_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    secure_cookie: bool = True
    # HTTPS on listen: the certificate (PEM, then any intermediates) and its unencrypted key
    # (mode 0600). Unset, plain HTTP (behind a TLS-terminating proxy, or on one host).
    tls_certificate: Path | None = None
    tls_key: Path | None = None
    # The dead-letter queue's bound as `caselink topology apply` set it: near full (80 %)
    # raises a `capacity` alert to the coordinators, looked at every dead_letter_look_s.
    dead_letter_bound: Annotated[int, Field(ge=1)] = QueueLimits().dead_letters
    dead_letter_look_s: Annotated[float, Field(gt=0, le=3600)] = 60.0

    def session_secret(self) -> bytes:
        """The key that signs dashboard sessions; the web app refuses one under 32 bytes.

        Raises KeyFilePermissionError when group or others may read session_secret_file.
        """
        return read_private(self.session_secret_file).strip()

    @property
    def cookies_secure(self) -> bool:
        """Whether session cookies carry Secure: always over HTTPS, whatever secure_cookie says."""
        return self.secure_cookie or self.tls_certificate is not None

    def server_tls(self) -> ssl.SSLContext | None:
        """The dashboard's TLS context, or None for plain HTTP (neither file set).

        Raises TlsFilesError (one of the pair, not PEM, encrypted, not of one another),
        KeyFilePermissionError (group or others may read tls_key), OSError (unreadable).
        """
        return server_context(self.tls_certificate, self.tls_key)

    def metrics_token(self) -> str | None:
        """The token /metrics takes, or None when metrics_token_file is unset.

        Raises KeyFilePermissionError (not 0600) or ConfigError (no usable token).
        """
        return None if self.metrics_token_file is None else read_token(self.metrics_token_file)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


_PATH_FIELDS = (
    "directory",
    "root_pub",
    "sla_policy",
    "users_file",
    "session_secret_file",
    "metrics_token_file",
    "tls_certificate",
    "tls_key",
    *TLS_PATH_FIELDS,
)


_SECRET_URLS = ("amqp_url", "store_url")


def load_tracker_settings(path: Path) -> TrackerSettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only.

    Raises KeyFilePermissionError when the file holds a password (in amqp_url or store_url)
    and group or others may read it. Without one (passwords in CASELINK_TRACKER_AMQP_URL and
    CASELINK_TRACKER_STORE_URL) it may be readable.
    """
    settings = load_settings_file(TrackerSettings, path, _PATH_FIELDS, url_fields=("store_url",))
    refuse_readable_passwords(path, _SECRET_URLS)
    return settings
