"""Private files: created 0600, replaced in one step, refused when others may read them."""

import stat
from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError, read_private, replace_private, write_private


def test_replace_private_writes_0600_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    write_private(path, b"first")
    replace_private(path, b"second")
    assert read_private(path) == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["users.toml"]  # no temporary file left


def test_replace_private_makes_a_readable_file_private(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text("old")
    path.chmod(0o644)
    with pytest.raises(KeyFilePermissionError):
        read_private(path)
    replace_private(path, b"new")
    assert read_private(path) == b"new"


def test_write_private_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "a.key"
    write_private(path, b"key")
    with pytest.raises(KeyFilePermissionError, match="refusing to overwrite"):
        write_private(path, b"other")
