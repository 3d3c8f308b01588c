"""Tracker settings: the session secret, and the settings file when it holds a password, are
secret files, refused when others can read them."""

from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError
from broker.tracker.config import load_tracker_settings
from tests.server_certs import self_signed

EXAMPLE = Path(__file__).parents[3] / "deploy" / "tracker" / "tracker.example.toml"


def _with_secret(tmp_path: Path, mode: int) -> Path:
    secret = tmp_path / "session-secret"
    secret.write_bytes(b"s" * 43 + b"\n")
    secret.chmod(mode)
    config = tmp_path / "tracker.toml"
    config.write_text(EXAMPLE.read_text())
    return config


def test_the_session_secret_is_read_from_a_0600_file(tmp_path: Path) -> None:
    settings = load_tracker_settings(_with_secret(tmp_path, 0o600))
    assert settings.session_secret() == b"s" * 43


def test_a_session_secret_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = load_tracker_settings(_with_secret(tmp_path, 0o640))
    with pytest.raises(KeyFilePermissionError, match="0600"):
        settings.session_secret()


def test_a_relative_sqlite_store_is_next_to_the_config_wherever_the_tracker_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_secret(tmp_path, 0o600)  # store_url: "data/tracker/tracker.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_tracker_settings(Path("../tracker.toml"))
    expected = tmp_path.resolve() / "data" / "tracker" / "tracker.db"
    assert settings.store_url == f"sqlite+aiosqlite:///{expected}"


def test_the_metrics_token_is_a_0600_file_of_its_own(tmp_path: Path) -> None:
    config = _with_secret(tmp_path, 0o600)  # metrics_token_file = "metrics-token"
    token = tmp_path / "metrics-token"
    token.write_bytes(b"t" * 43 + b"\n")
    token.chmod(0o600)
    assert load_tracker_settings(config).metrics_token() == "t" * 43
    token.chmod(0o644)
    with pytest.raises(KeyFilePermissionError, match="0600"):
        load_tracker_settings(config).metrics_token()


def _config(tmp_path: Path, mode: int, **urls: str) -> Path:
    config = tmp_path / "tracker.toml"
    config.write_text(_override(EXAMPLE.read_text(), urls))
    config.chmod(mode)
    return config


def _override(text: str, urls: dict[str, str]) -> str:
    lines = [line for line in text.splitlines() if line.split(" = ")[0] not in urls]
    return "\n".join(lines + [f'{name} = "{url}"' for name, url in urls.items()]) + "\n"


@pytest.mark.parametrize(
    "urls",
    [
        {"amqp_url": "amqp://tracker:s3cret@127.0.0.1:5672/caselink"},
        {"store_url": "postgresql+asyncpg://caselink:s3cret@127.0.0.1/caselink"},
        {"store_url": "postgresql+asyncpg://caselink@127.0.0.1/caselink?password=s3cret"},
    ],
)
def test_a_config_holding_a_password_is_refused_when_others_can_read_it(
    tmp_path: Path, urls: dict[str, str]
) -> None:
    with pytest.raises(KeyFilePermissionError, match="must be 0600") as raised:
        load_tracker_settings(_config(tmp_path, 0o644, **urls))
    assert "s3cret" not in str(raised.value)
    assert load_tracker_settings(_config(tmp_path, 0o600, **urls)).amqp_url


def test_a_config_without_passwords_may_be_readable(tmp_path: Path) -> None:
    # The example's URLs carry none: passwords come in CASELINK_TRACKER_* variables.
    settings = load_tracker_settings(_config(tmp_path, 0o644))
    assert settings.amqp_url == "amqp://tracker@127.0.0.1:5672/caselink"


def test_https_files_are_next_to_the_config_and_make_cookies_secure(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    pair = self_signed(tmp_path / "tls", "dashboard")
    config = tmp_path / "tracker.toml"
    uncommented = EXAMPLE.read_text().replace("# tls_", "tls_")
    config.write_text(uncommented.replace("# secure_cookie = false", "secure_cookie = false"))
    settings = load_tracker_settings(config)
    assert (settings.tls_certificate, settings.tls_key) == (pair.certificate, pair.key)
    assert settings.secure_cookie is False
    assert settings.cookies_secure  # over HTTPS whatever the file says
    assert settings.server_tls() is not None


def test_without_https_files_the_dashboard_serves_plain_http() -> None:
    settings = load_tracker_settings(EXAMPLE)
    assert settings.server_tls() is None
    assert settings.cookies_secure
