"""The TLS fields shared by the gateway's, the tracker's, the notifier's and the dead-letter
tool's settings, and their one reading into an AmqpTls.

    amqp_url = "amqps://broker.example:5671/caselink"
    amqp_ca_file = "tls/ca.pem"              # the CA that signed the broker's certificate
    amqp_cert_file = "tls/client.pem"        # this process's client certificate
    amqp_key_file = "tls/client.key"         # its key, 0600
    amqp_login = "certificate"               # SASL EXTERNAL: no password anywhere

Paths are relative to the settings file, like the others. With none of them set, an
amqps:// URL means what it means to aiormq (the system's CAs, or `?cafile=...` and the like
in its query); an amqp:// URL is not encrypted, which only a node listening on the loopback
interface should ever accept.
"""

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, model_validator
from yarl import URL

from broker.tls.client import AmqpTls, client_context

TLS_PATH_FIELDS = ("amqp_ca_file", "amqp_cert_file", "amqp_key_file")


class AmqpTlsFields(BaseModel):
    """Mixed into a process's settings next to its `amqp_url`."""

    amqp_url: str
    amqp_ca_file: Path | None = None
    amqp_cert_file: Path | None = None
    amqp_key_file: Path | None = None
    # "password": the URL's user and password (SASL PLAIN); "certificate": SASL EXTERNAL,
    # the client certificate's common name is the RabbitMQ user.
    amqp_login: Literal["password", "certificate"] = "password"

    @model_validator(mode="after")
    def _consistent(self) -> "AmqpTlsFields":
        # Checked when the settings are read, so that a contradiction is a configuration
        # error naming these fields, not a failure at the first connection.
        if (self.amqp_cert_file is None) != (self.amqp_key_file is None):
            raise ValueError("amqp_cert_file and amqp_key_file go together")
        if self.amqp_login == "certificate" and self.amqp_cert_file is None:
            raise ValueError('amqp_login = "certificate" needs amqp_cert_file and amqp_key_file')
        if self._tls_configured() and not self.amqp_url.startswith("amqps://"):
            raise ValueError("the amqp_ TLS settings need an amqps:// amqp_url")
        if self.amqp_login == "certificate" and URL(self.amqp_url).password:
            raise ValueError('amqp_login = "certificate" takes no password in amqp_url')
        return self

    def _tls_configured(self) -> bool:
        return (
            self.amqp_ca_file is not None
            or self.amqp_cert_file is not None
            or self.amqp_login == "certificate"
        )

    def amqp_tls(self) -> AmqpTls | None:
        """The TLS of the broker connection; None when no TLS field is set.

        Raises what client_context raises for the files (KeyFilePermissionError, OSError,
        ssl.SSLError).
        """
        if not self._tls_configured():
            return None
        return AmqpTls(
            client_context(self.amqp_ca_file, self.amqp_cert_file, self.amqp_key_file),
            external=self.amqp_login == "certificate",
        )
