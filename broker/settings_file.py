"""Typed settings from a TOML file, overridden field by field by environment variables.

Relative paths in the file, file paths and the file of an SQLite URL alike, mean paths
relative to the file's folder, wherever the service is started from. Values from
environment variables are taken as given (relative to the current directory).
"""

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


def load_settings_file(
    cls: type[SettingsT],
    path: Path,
    path_fields: tuple[str, ...],
    url_fields: tuple[str, ...] = (),
) -> SettingsT:
    """Read `path`, resolve `path_fields` and the SQLite files of `url_fields` against its
    folder, validate; raises ConfigError.

    The error names the fields at fault, never their values (they may be secrets).
    """
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    folder = path.parent.resolve()
    for name in path_fields:
        if isinstance(data.get(name), str):
            data[name] = str((folder / data[name]).resolve())
    for name in url_fields:
        if isinstance(data.get(name), str):
            data[name] = sqlite_url_relative_to(data[name], folder)
    try:
        return cls(**data)
    except ValidationError as exc:
        fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
        raise ConfigError(f"invalid settings in {path}: {', '.join(fields)}") from exc


def sqlite_url_relative_to(url: str, folder: Path) -> str:
    """`url` with a relative SQLite database file made absolute against `folder`.

    SQLAlchemy reads `sqlite:///inbox.db` (three slashes) as a path relative to the current
    directory and `sqlite:////srv/inbox.db` (four) as absolute. Any other URL, an absolute
    or in-memory database, or a `file:` URI is returned unchanged. Parsed here rather than
    with SQLAlchemy's make_url, which would bring the database library into the settings
    core for one prefix test; the forms are few and fixed.
    """
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+", 1)[0] != "sqlite" or not rest.startswith("/"):
        return url
    database, question, query = rest[1:].partition("?")
    if not database or database == ":memory:" or database.startswith(("/", "file:")):
        return url
    return f"{scheme}:///{(folder / database).resolve()}{question}{query}"
