"""Notifier settings: a TOML file, overridden field by field by CASELINK_NOTIFIER_* variables."""

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from broker.keystore import refuse_readable_passwords
from broker.settings_file import FileSettings, load_settings_file
from schemas.ids import AgencyId

# Deliberately plain: one @, no spaces or angle brackets, so an address cannot smuggle a
# second header or recipient into the message. The SMTP server is the judge of the rest.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+$", max_length=254)]
Addresses = Annotated[list[EmailAddress], Field(max_length=50)]


class Contacts(BaseModel):
    """The addresses of one agency, per role. A role left empty gets no email."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duty: Addresses = []
    supervisors: Addresses = []
    coordinators: Addresses = []


class SmtpSettings(BaseModel):
    """Where mail goes: a relay that accepts mail from this host (no sign-in yet)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: EmailAddress = Field(alias="from")
    # STARTTLS when the server offers it (aiosmtplib's default); `true` insists on it.
    starttls: bool | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0


class NotifierSettings(FileSettings):
    """`caselink notifier`. Relative paths (an SQLite store_url's file) are relative to the
    config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_NOTIFIER_", extra="forbid")

    amqp_url: str = Field(
        description="The notifier user's URL: amqp://notifier:PASSWORD@HOST/VHOST"
    )
    store_url: str = Field(description="sqlite+aiosqlite:///notifier.db: the alert ids emailed")
    dashboard_url: Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=500)]
    smtp: SmtpSettings
    agencies: dict[AgencyId, Contacts]
    user_prefix: str = ""
    # Alerts in flight at once; each may wait on SMTP, so a few are enough.
    prefetch: Annotated[int, Field(ge=1, le=1000)] = 8
    # Longest wait between two attempts while SMTP fails (backoff from 0.5 s up to this).
    retry_max_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    # How long one alert is held unacked while SMTP fails before it goes back to the queue:
    # well under RabbitMQ's consumer timeout (30 min by default), which would close the channel.
    hold_s: Annotated[float, Field(gt=0, le=1500)] = 600.0


_SECRET_URLS = ("amqp_url", "store_url")


def load_notifier_settings(path: Path) -> NotifierSettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only.

    Raises KeyFilePermissionError when the file holds a password (in amqp_url or store_url)
    and group or others may read it.
    """
    settings = load_settings_file(NotifierSettings, path, (), url_fields=("store_url",))
    refuse_readable_passwords(path, _SECRET_URLS)
    return settings
