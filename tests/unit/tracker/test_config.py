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
