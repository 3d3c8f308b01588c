"""The `[adapters.social]` table of a gateway config."""

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broker.gateway.adapter_port import AdapterConfigError
from schemas.field_errors import field_errors
from schemas.referral import RequestedService


class SocialSettings(BaseModel):
    """`cases_folder`: where cases created through the API are kept, sealed (relative to the
    config's folder; none: in memory only, gone at a restart). `consent_days`: how long a
    consent recorded from Primero's flags runs. `services`: Primero service lookup ids of
    this deployment, by the Caselink service each stands for (added to the defaults).
    `max_cases`: how many received referrals and transfers the case list looks through."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cases_folder: str | None = None
    consent_days: Annotated[int, Field(ge=1, le=3660)] = 365
    services: dict[Annotated[str, Field(max_length=100)], RequestedService] = Field(
        default_factory=dict
    )
    max_cases: Annotated[int, Field(ge=1, le=100_000)] = 10_000

    def folder(self, base: Path) -> Path | None:
        return None if self.cases_folder is None else base / self.cases_folder


def load_settings(table: Mapping[str, Any]) -> SocialSettings:
    """The table as settings; raises AdapterConfigError (one line, no values)."""
    try:
        return SocialSettings.model_validate(dict(table))
    except ValidationError as error:
        first = field_errors(error.errors(include_input=False))[0]
        raise AdapterConfigError(f"[adapters.social]: {first.path}: {first.msg}") from None
