"""Gateway settings: a TOML file, overridden field by field by CASELINK_* variables.

A settings file whose own URLs hold a password (amqp_url, store_url) is refused, as a
private key would be, when group or others may read it.
"""

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from broker.gateway.retention import DEFAULT_RETENTION_DAYS
from broker.gateway.users import GatewayUser, load_users
from broker.keystore import read_private, read_token, refuse_readable_passwords
from broker.settings_file import FileSettings, load_settings_file
from broker.tls.server import server_context
from broker.tls.settings import TLS_PATH_FIELDS, AmqpTlsFields
from schemas.ids import AgencyId
from schemas.sealed_envelope import MAX_ENVELOPE_BYTES

MAX_REQUEST_BYTES = MAX_ENVELOPE_BYTES + 64 * 1024
"""Default cap of an HTTP request body. The largest body that can be sealed is 8 MiB of
compact JSON (broker/envelope/suites.py); an agency's JSON may be indented or escaped, so
the cap is that of the largest envelope, 16 MiB, plus room for the submission's fields."""


class GatewaySettings(FileSettings, AmqpTlsFields):
    """One agency's gateway. Paths (and an SQLite store_url's file) are relative to the
    config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_", extra="forbid")

    agency_id: AgencyId
    key_file: Path
    directory: Path
    root_pub: Path
    amqp_url: str = Field(
        description="amqp://USER:PASSWORD@HOST:PORT/VHOST, or amqps:// (amqp_ca_file...)"
    )
    store_url: str = Field(description="SQLAlchemy async URL, e.g. sqlite+aiosqlite:///inbox.db")
    api_listen: str = "127.0.0.1:8080"
    # Who may use the HTTP API: people (password) and systems (token), mode 0600.
    users_file: Path
    # Prometheus presents this bearer token at /metrics; unset, /metrics is not served.
    metrics_token_file: Path | None = None
    # Signs the inbox pages' session cookies (32+ bytes, mode 0600); unset, a secret is made
    # at start and a restart signs everybody out of the pages.
    session_secret_file: Path | None = None
    # False only for the pages over plain HTTP on a trusted host (a local demo).
    secure_cookie: bool = True
    # HTTPS on api_listen: the certificate (PEM, then any intermediates) and its unencrypted
    # key (mode 0600). Unset, plain HTTP (behind a TLS-terminating proxy, or on one host).
    tls_certificate: Path | None = None
    tls_key: Path | None = None
    user_prefix: str = ""
    # Unacked deliveries in flight; bounds memory. Several inbox batches' worth, so RabbitMQ
    # keeps delivering while one batch is being opened and committed.
    prefetch: Annotated[int, Field(ge=1, le=10_000)] = 1024
    # Unconfirmed publishes in flight from the outbox.
    publish_window: Annotated[int, Field(ge=1, le=10_000)] = 256
    watchdog_interval_s: Annotated[float, Field(gt=0)] = 2.0
    # Days a message body is kept; then it is erased and only its ids, kind, state and
    # times stay (broker/gateway/retention.py says which bodies, and when).
    retention_days: Annotated[int, Field(ge=1, le=36_500)] = DEFAULT_RETENTION_DAYS
    # How often the directory file is looked at: a newer one comes into force without a restart.
    directory_poll_s: Annotated[float, Field(gt=0, le=3600)] = 5.0
    # Larger request bodies are refused with 413 before they are read (broker/http_edge/).
    max_request_bytes: Annotated[int, Field(ge=64 * 1024, le=1024**3)] = MAX_REQUEST_BYTES
    # `[adapters.<name>]` tables: each switches on the installed adapter of that name
    # (broker/gateway/adapter_port.py), which validates its own table.
    adapters: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def api_host(self) -> str:
        return self.api_listen.rsplit(":", 1)[0]

    @property
    def api_port(self) -> int:
        return int(self.api_listen.rsplit(":", 1)[1])

    @property
    def cookies_secure(self) -> bool:
        """Whether session cookies carry Secure: always over HTTPS, whatever secure_cookie says."""
        return self.secure_cookie or self.tls_certificate is not None

    def server_tls(self) -> ssl.SSLContext | None:
        """The API's TLS context, or None for plain HTTP (neither tls_certificate nor tls_key).

        Raises TlsFilesError (one of the pair, not PEM, encrypted, not of one another),
        KeyFilePermissionError (group or others may read tls_key), OSError (unreadable).
        """
        return server_context(self.tls_certificate, self.tls_key)

    def users(self) -> Mapping[str, GatewayUser]:
        """The API's users, by name.

        Raises KeyFilePermissionError when group or others may read users_file (as for a
        private key), UsersFileError when it is missing, empty or invalid.
        """
        return load_users(self.users_file)

    def session_secret(self) -> bytes | None:
        """The key that signs the inbox pages' sessions, or None when session_secret_file
        is unset. Raises KeyFilePermissionError when group or others may read it."""
        if self.session_secret_file is None:
            return None
        return read_private(self.session_secret_file).strip()

    def metrics_token(self) -> str | None:
        """The token /metrics takes, or None when metrics_token_file is unset.

        Raises KeyFilePermissionError (not 0600) or ConfigError (no usable token).
        """
        return None if self.metrics_token_file is None else read_token(self.metrics_token_file)


_PATH_FIELDS = (
    "key_file",
    "directory",
    "root_pub",
    "users_file",
    "metrics_token_file",
    "session_secret_file",
    "tls_certificate",
    "tls_key",
    *TLS_PATH_FIELDS,
)
_URL_FIELDS = ("amqp_url", "store_url")


def load_settings(path: Path) -> GatewaySettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only.

    Raises KeyFilePermissionError when the file holds a password and others may read it.
    """
    settings = load_settings_file(GatewaySettings, path, _PATH_FIELDS, url_fields=("store_url",))
    refuse_readable_passwords(path, _URL_FIELDS)
    return settings
