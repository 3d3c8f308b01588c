"""Tracker settings: the session secret is a secret file, refused when others can read it."""

from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError
from broker.tracker.config import load_tracker_settings

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
