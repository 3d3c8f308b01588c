"""Typed settings from a TOML file, overridden field by field by environment variables."""

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from broker.errors import CaselinkError


class ConfigError(CaselinkError):
    """The configuration file is missing, unreadable or invalid."""

    reason = "bad_config"


class FileSettings(BaseSettings):
    """Settings whose environment variables win over the values read from the file."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: an operator's variable wins over the file.
        return env_settings, init_settings


SettingsT = TypeVar("SettingsT", bound=FileSettings)


def load_settings_file(cls: type[SettingsT], path: Path, path_fields: tuple[str, ...]) -> SettingsT:
    """Read `path`, resolve `path_fields` against its folder, validate; raises ConfigError.

    The error names the fields at fault, never their values (they may be secrets).
    """
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    for name in path_fields:
        if isinstance(data.get(name), str):
            data[name] = str((path.parent / data[name]).resolve())
    try:
        return cls(**data)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        raise ConfigError(f"invalid settings in {path}: {', '.join(fields)}") from exc
