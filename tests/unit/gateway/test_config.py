"""Gateway settings: TOML file, paths relative to it, CASELINK_* variables win."""

from pathlib import Path

import pytest

from broker.gateway.config import load_settings
from broker.keystore import KeyFilePermissionError
from broker.settings_file import ConfigError

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


def test_bodies_are_kept_365_days_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(EXAMPLE).retention_days == 365
    monkeypatch.setenv("CASELINK_RETENTION_DAYS", "30")
    assert load_settings(EXAMPLE).retention_days == 30
    monkeypatch.setenv("CASELINK_RETENTION_DAYS", "0")
    with pytest.raises(ConfigError, match="retention_days"):
        load_settings(EXAMPLE)
