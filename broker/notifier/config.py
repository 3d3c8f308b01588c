"""Notifier settings: a TOML file, overridden field by field by CASELINK_NOTIFIER_* variables."""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_settings import SettingsConfigDict

from broker.keystore import refuse_readable_passwords
from broker.look import DEFAULT_LANGUAGE, LANGUAGES
from broker.look.formats import is_time_zone
from broker.settings_file import FileSettings, load_settings_file
from broker.tls.settings import TLS_PATH_FIELDS, AmqpTlsFields
from schemas.ids import AgencyId

# Deliberately plain: one @, no spaces or angle brackets, so an address cannot smuggle a
# second header or recipient into the message. The SMTP server is the judge of the rest.
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+$", max_length=254)]
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=500)]


def _known_language(code: str) -> str:
    if code not in LANGUAGES:
        raise ValueError(f"a language Caselink is translated into: {', '.join(LANGUAGES)}")
    return code


def _known_time_zone(name: str) -> str:
    if not is_time_zone(name):
        raise ValueError("an IANA time zone, such as Europe/Copenhagen")
    return name


Language = Annotated[str, Field(max_length=15), AfterValidator(_known_language)]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_known_time_zone)]


class Recipient(BaseModel):
    """One address with the language and time zone its emails are written in; either left
    out takes the agency's (`Contacts.language`, `Contacts.time_zone`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: EmailAddress
    language: Language | None = None
    time_zone: TimeZone | None = None


@dataclass(frozen=True, slots=True)
class Person:
    """An address as emailed: its language and time zone settled."""

    address: str
    language: str
    time_zone: str


Addresses = Annotated[list[EmailAddress | Recipient], Field(max_length=50)]


class Contacts(BaseModel):
    """One agency: the addresses of each role (a role left empty gets no email), each a
    plain address or a table naming its own language and time zone; the agency's defaults
    for those; and where its gateway serves the inbox pages (`<inbox_url>/inbox/<id>`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duty: Addresses = []
    supervisors: Addresses = []
    coordinators: Addresses = []
    language: Language = DEFAULT_LANGUAGE
    time_zone: TimeZone = "UTC"
    inbox_url: Url | None = None

    def people(self, role: str) -> list[Person]:
        """The addresses of `role` (a field name), each with its language and zone."""
        entries: list[EmailAddress | Recipient] = getattr(self, role)
        return [self._person(entry) for entry in entries]

    def _person(self, entry: str | Recipient) -> Person:
        if isinstance(entry, str):
            return Person(entry, self.language, self.time_zone)
        return Person(
            entry.address, entry.language or self.language, entry.time_zone or self.time_zone
        )


class SmtpSettings(BaseModel):
    """Where mail goes: a relay that accepts mail from this host (no sign-in yet)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: EmailAddress = Field(alias="from")
    # STARTTLS when the server offers it (aiosmtplib's default); `true` insists on it.
    starttls: bool | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0


class NotifierSettings(FileSettings, AmqpTlsFields):
    """`caselink notifier`. Relative paths (an SQLite store_url's file) are relative to the
    config file's folder."""

    model_config = SettingsConfigDict(env_prefix="CASELINK_NOTIFIER_", extra="forbid")

    amqp_url: str = Field(
        description="The notifier user's URL: amqp://notifier:PASSWORD@HOST/VHOST"
    )
    store_url: str = Field(
        description="sqlite+aiosqlite:///notifier.db: the keys of the emails sent"
    )
    dashboard_url: Url
    smtp: SmtpSettings
    agencies: dict[AgencyId, Contacts]
    # The signed agency directory and its root key: emails name agencies by their directory
    # names. Left out, they name agencies by id alone.
    directory: Path | None = None
    root_pub: Path | None = None
    user_prefix: str = ""
    # Deliveries in flight at once per queue (alerts, arrival events: each its own
    # subscriber and window); each may wait on SMTP, so a few are enough.
    prefetch: Annotated[int, Field(ge=1, le=1000)] = 8
    # Longest wait between two attempts while SMTP fails (backoff from 0.5 s up to this).
    retry_max_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    # How long one delivery (an alert, a batch of arrival events: all its emails together)
    # is held unacked while SMTP fails or is slow before it goes back to the queue: with one
    # SMTP answer (smtp.timeout_s) under RabbitMQ's consumer timeout (30 min by default),
    # which would close the channel.
    hold_s: Annotated[float, Field(gt=0, le=1500)] = 600.0

    @model_validator(mode="after")
    def _directory_with_its_root(self) -> Self:
        if (self.directory is None) != (self.root_pub is None):
            raise ValueError("directory and root_pub go together")
        return self


_SECRET_URLS = ("amqp_url", "store_url")


def load_notifier_settings(path: Path) -> NotifierSettings:
    """Read the TOML file at `path`, apply overrides; raises ConfigError naming fields only.

    Raises KeyFilePermissionError when the file holds a password (in amqp_url or store_url)
    and group or others may read it.
    """
    settings = load_settings_file(
        NotifierSettings,
        path,
        ("directory", "root_pub", *TLS_PATH_FIELDS),
        url_fields=("store_url",),
    )
    refuse_readable_passwords(path, _SECRET_URLS)
    return settings
