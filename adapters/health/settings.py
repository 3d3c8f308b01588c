"""The `[adapters.health]` table of a gateway's config.

    [adapters.health]
    page_size = 50           # Tasks per search answer unless _count says otherwise
    max_page_size = 200      # the largest _count taken
    scan_limit = 1000        # newest received and sent referrals a search looks through
    max_bundle_entries = 20  # entries a referral's transaction Bundle may hold

Every key is optional (`[adapters.health]` alone switches the adapter on); an unknown key
or a bad value refuses the table with one line.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from broker.gateway.adapter_port import AdapterConfigError
from schemas.field_errors import field_errors, field_paths


class HealthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    page_size: int = Field(50, ge=1, le=1000)
    max_page_size: int = Field(200, ge=1, le=1000)
    scan_limit: int = Field(1000, ge=1, le=100_000)
    max_bundle_entries: int = Field(20, ge=4, le=200)

    @model_validator(mode="after")
    def _pages(self) -> "HealthSettings":
        if self.page_size > self.max_page_size:
            raise ValueError("page_size must not exceed max_page_size")
        return self


def load_settings(table: Mapping[str, Any]) -> HealthSettings:
    """The settings of `table`; raises AdapterConfigError naming the bad keys."""
    try:
        return HealthSettings.model_validate(dict(table))
    except ValidationError as error:
        paths = field_paths(field_errors(error.errors(include_input=False)))
        raise AdapterConfigError(f"[adapters.health]: invalid {paths}") from None
