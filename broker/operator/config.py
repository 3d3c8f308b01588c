"""Settings of `caselink dlq`: a TOML file, overridden field by field by CASELINK_DLQ_*."""

from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from broker.envelope import TrustedDirectory
from broker.keystore import load_trusted_directory
from broker.settings_file import ConfigError, FileSettings, load_settings_file
from broker.tls.settings import TLS_PATH_FIELDS, AmqpTlsFields
from broker.topology.names import QueueLimits


class DlqSettings(FileSettings, AmqpTlsFields):
    """The dead-letter operator's tool. Paths are relative to the config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_DLQ_", extra="forbid")

    amqp_url: str = Field(description="amqp://dlq-operator:PASSWORD@HOST:PORT/VHOST")
    # Without them nothing is verified: letters are then named by their SHA-256 only.
    directory: Path | None = None
    root_pub: Path | None = None
    # The dead-letter queue's x-max-length as applied (`caselink dlq check` compares with it).
    max_length: Annotated[int, Field(ge=1)] = QueueLimits().dead_letters

    def trusted_directory(self) -> TrustedDirectory | None:
        """The verified directory, or None when none is configured.

        Raises ConfigError when only one of directory and root_pub is set, DirectoryError
        when the directory is refused, KeyFileError for a bad root key file, OSError.
        """
        if self.directory is None and self.root_pub is None:
            return None
        if self.directory is None or self.root_pub is None:
            raise ConfigError("set both directory and root_pub, or neither")
        return load_trusted_directory(self.directory, self.root_pub)


_PATH_FIELDS = ("directory", "root_pub", *TLS_PATH_FIELDS)


def load_dlq_settings(path: Path) -> DlqSettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only."""
    return load_settings_file(DlqSettings, path, _PATH_FIELDS)
