"""Gateway settings: TOML file, paths relative to it, CASELINK_* variables win."""

import re
from pathlib import Path

import pytest

from broker.gateway.config import GatewaySettings, load_settings
from broker.keystore import KeyFilePermissionError
from broker.settings_file import ConfigError, sqlite_url_relative_to
from broker.store.gateway_store import SqlGatewayStore

EXAMPLE = Path(__file__).parents[3] / "deploy" / "gateway" / "gateway.example.toml"


def test_the_example_config_loads_with_paths_relative_to_it() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.agency_id == "oscc-north"
    assert settings.key_file == (EXAMPLE.parents[2] / "fed" / "oscc-north.key").resolve()
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8081)


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELINK_AMQP_URL", "amqp://other@127.0.0.1/caselink")
    monkeypatch.setenv("CASELINK_PREFETCH", "32")
    settings = load_settings(EXAMPLE)
    assert settings.amqp_url == "amqp://other@127.0.0.1/caselink"
    assert settings.prefetch == 32


def test_invalid_settings_name_the_fields_only(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        EXAMPLE.read_text().replace('"oscc-north"', '"Not A Slug!"', 1)
        + 'unknown_setting = "SECRET-VALUE"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert "agency_id" in str(refused.value)
    assert "unknown_setting" in str(refused.value)
    assert "SECRET-VALUE" not in str(refused.value)
    assert "Not A Slug" not in str(refused.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path / "absent.toml")


def test_a_vhost_setting_is_refused_the_url_names_the_vhost(tmp_path: Path) -> None:
    # It used to be accepted and then ignored: the connection goes where amqp_url says.
    config = tmp_path / "vhost.toml"
    config.write_text(EXAMPLE.read_text() + 'vhost = "elsewhere"\n')
    with pytest.raises(ConfigError, match="vhost"):
        load_settings(config)


def _with_token(tmp_path: Path, content: bytes, mode: int) -> Path:
    token = tmp_path / "api-token"
    token.write_bytes(content)
    token.chmod(mode)
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())
    return config


def test_the_api_token_is_read_from_a_0600_file(tmp_path: Path) -> None:
    settings = load_settings(_with_token(tmp_path, b"a-token\n", 0o600))
    assert settings.api_token() == "a-token"


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = load_settings(_with_token(tmp_path, b"a-token\n", 0o644))
    with pytest.raises(KeyFilePermissionError, match="0600"):
        settings.api_token()


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    settings = load_settings(_with_token(tmp_path, b"\n", 0o600))
    with pytest.raises(ConfigError, match="no token"):
        settings.api_token()


def test_a_relative_sqlite_store_is_next_to_the_config_wherever_the_gateway_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "gateway.toml"
    config.write_text(EXAMPLE.read_text())  # store_url = "sqlite+aiosqlite:///oscc-north.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("../etc/gateway.toml"))
    assert settings.store_url == f"sqlite+aiosqlite:///{folder.resolve() / 'oscc-north.db'}"


async def test_the_store_opens_the_outbox_next_to_the_config_not_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "gateway.toml"
    config.write_text(EXAMPLE.read_text().replace("oscc-north.db", "data/outbox.db?timeout=5"))
    (folder / "data").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    store = SqlGatewayStore(load_settings(config).store_url)
    await store.create()
    await store.close()
    assert (folder / "data" / "outbox.db").exists()
    assert list(elsewhere.iterdir()) == []


def _with_metrics_token(tmp_path: Path, content: bytes, mode: int) -> GatewaySettings:
    token = tmp_path / "metrics-token"
    token.write_bytes(content)
    token.chmod(mode)
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())  # metrics_token_file = "metrics-token"
    return load_settings(config)


def test_the_metrics_token_is_read_from_its_own_0600_file(tmp_path: Path) -> None:
    settings = _with_metrics_token(tmp_path, b"m" * 43 + b"\n", 0o600)
    assert settings.metrics_token_file == tmp_path / "metrics-token"
    assert settings.metrics_token() == "m" * 43


def test_a_metrics_token_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = _with_metrics_token(tmp_path, b"m" * 43 + b"\n", 0o640)
    with pytest.raises(KeyFilePermissionError, match="0600"):
        settings.metrics_token()


@pytest.mark.parametrize("content", [b"\n", b"short\n"])
def test_an_empty_or_short_metrics_token_is_refused(tmp_path: Path, content: bytes) -> None:
    settings = _with_metrics_token(tmp_path, content, 0o600)
    with pytest.raises(ConfigError, match="no usable token"):
        settings.metrics_token()


def test_without_a_metrics_token_file_there_is_no_metrics_token(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(re.sub(r"(?m)^metrics_token_file.*$", "", EXAMPLE.read_text()))
    assert load_settings(config).metrics_token() is None


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("sqlite+aiosqlite:///inbox.db", "sqlite+aiosqlite:////etc/caselink/inbox.db"),
        ("sqlite:///../data/inbox.db?timeout=5", "sqlite:////etc/data/inbox.db?timeout=5"),
        ("sqlite+aiosqlite:////srv/inbox.db", "sqlite+aiosqlite:////srv/inbox.db"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite:///file:inbox.db?mode=ro&uri=true", "sqlite:///file:inbox.db?mode=ro&uri=true"),
        ("postgresql+asyncpg://caselink@db/inbox", "postgresql+asyncpg://caselink@db/inbox"),
    ],
)
def test_only_a_relative_sqlite_file_is_resolved(url: str, resolved: str) -> None:
    assert sqlite_url_relative_to(url, Path("/etc/caselink")) == resolved
