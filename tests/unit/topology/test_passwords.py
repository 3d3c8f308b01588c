"""The passwords file: 0600, created and completed as needed, refused when exposed or malformed."""

import json
import stat
from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError, replace_private
from broker.topology.passwords import (
    SecretsFileError,
    load_or_create_passwords,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_0600_in_a_0700_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "secrets" / "rabbitmq-passwords.json"
    passwords = load_or_create_passwords(path, ["a", "b"])
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert set(passwords) == {"a", "b"}
    assert passwords["a"] != passwords["b"]
    assert all(len(p) >= 43 for p in passwords.values())  # 32 random bytes, base64url
    assert json.loads(path.read_text()) == passwords
    assert capsys.readouterr() == ("", "")


def test_existing_passwords_are_kept_and_missing_ones_added(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    first = load_or_create_passwords(path, ["a"])
    second = load_or_create_passwords(path, ["a", "b"])
    assert second["a"] == first["a"]
    assert load_or_create_passwords(path, ["b"]) == {"b": second["b"]}
    # Entries of users not asked for stay in the file.
    assert set(json.loads(path.read_text())) == {"a", "b"}
    assert mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["pw.json"]


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    load_or_create_passwords(path, ["a"])
    before = path.stat().st_ino
    load_or_create_passwords(path, ["a"])
    assert path.stat().st_ino == before


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pw.json"
    path.write_text('{"a": "secret"}')
    path.chmod(0o644)
    with pytest.raises(KeyFilePermissionError, match="must be 0600"):
        load_or_create_passwords(path, ["a"])


@pytest.mark.parametrize("content", ["not json", "[]", '{"a": 1}', '{"a": ""}', "\xff"])
def test_a_malformed_file_is_refused_without_echoing_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pw.json"
    replace_private(path, content.encode("latin-1"))
    with pytest.raises(SecretsFileError) as refused:
        load_or_create_passwords(path, ["a"])
    assert content not in str(refused.value)
