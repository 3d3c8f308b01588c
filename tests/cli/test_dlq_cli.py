"""`caselink dlq`'s expected errors without a broker: one line on stderr, a non-zero exit.

The errors RabbitMQ gives (refused login, missing permission, unknown vhost, empty queue)
are in tests/integration/test_dlq_cli.py.
"""

import socket
import subprocess
from pathlib import Path

import pytest

from broker.operator.config import load_dlq_settings
from broker.topology.names import QueueLimits
from tests.cli.test_cli import caselink, federation, ok

__all__ = ["federation"]  # the module fixture, shared with test_cli


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(folder: Path, text: str) -> Path:
    path = folder / "dlq.toml"
    path.write_text(text)
    return path


def config_for(home: Path, folder: Path, url: str, root_pub: Path | None = None) -> Path:
    return write_config(
        folder,
        f'amqp_url = "{url}"\n'
        f'directory = "{home / "dir.json"}"\n'
        f'root_pub = "{root_pub or home / "root.pub.json"}"\n',
    )


def one_line(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


def test_without_a_config_file(tmp_path: Path) -> None:
    assert "--config" in one_line(caselink("dlq", "list"))
    assert "cannot read" in one_line(caselink("dlq", "list", "--config", tmp_path / "none.toml"))


def test_an_unreadable_config_file(tmp_path: Path) -> None:
    # A folder where the file should be: unreadable even for root, who reads any mode.
    (tmp_path / "dlq.toml").mkdir()
    assert "cannot read" in one_line(caselink("dlq", "check", "--config", tmp_path / "dlq.toml"))


def test_an_invalid_config_names_fields_not_values(tmp_path: Path) -> None:
    broken = write_config(tmp_path, "amqp_url = \n")
    assert "cannot read" in one_line(caselink("dlq", "list", "--config", broken))
    secret = "amqp://dlq-operator:s3cret@127.0.0.1/caselink"
    unknown = write_config(tmp_path, f'amqp_url = "{secret}"\npasword = "s3cret"\n')
    line = one_line(caselink("dlq", "list", "--config", unknown))
    assert "pasword" in line
    assert "s3cret" not in line


def test_a_directory_without_its_root_key(tmp_path: Path, federation: Path) -> None:
    half = write_config(
        tmp_path, f'amqp_url = "amqp://u:p@127.0.0.1/v"\ndirectory = "{federation / "dir.json"}"\n'
    )
    assert "root_pub" in one_line(caselink("dlq", "list", "--config", half))


def test_a_wrong_root_key_refuses_the_directory(tmp_path: Path, federation: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    ok("keys", "root", "--out", other)
    path = config_for(federation, tmp_path, "amqp://u:p@127.0.0.1/v", other / "root.pub.json")
    assert "refused" in one_line(caselink("dlq", "list", "--config", path), code=3)
    garbage = tmp_path / "garbage.pub.json"
    garbage.write_text("not a key")
    path = config_for(federation, tmp_path, "amqp://u:p@127.0.0.1/v", garbage)
    assert one_line(caselink("dlq", "list", "--config", path))


@pytest.mark.parametrize("command", [["list"], ["show", "x"], ["requeue", "--all"], ["check"]])
def test_a_broker_that_is_down(tmp_path: Path, federation: Path, command: list[str]) -> None:
    url = f"amqp://dlq-operator:s3cret@127.0.0.1:{free_port()}/caselink"
    path = config_for(federation, tmp_path, url)
    line = one_line(caselink("dlq", *command, "--config", path))
    assert "cannot reach RabbitMQ at 127.0.0.1" in line
    assert "s3cret" not in line


def test_a_url_that_is_not_amqp(tmp_path: Path, federation: Path) -> None:
    path = config_for(federation, tmp_path, "http://127.0.0.1/caselink")
    assert "amqp://" in one_line(caselink("dlq", "list", "--config", path))


def test_requeue_needs_names_or_all(tmp_path: Path) -> None:
    assert "--all" in one_line(caselink("dlq", "requeue", "--config", tmp_path / "x.toml"))
    assert "not both" in one_line(
        caselink("dlq", "requeue", "x", "--all", "--config", tmp_path / "x.toml")
    )


def test_the_example_config_is_valid() -> None:
    settings = load_dlq_settings(Path(__file__).parents[2] / "deploy/operator/dlq.example.toml")
    assert settings.amqp_url.startswith("amqp://dlq-operator:")
    assert settings.directory is not None
    assert settings.root_pub is not None
    assert settings.directory.name == "directory.json"
    assert settings.max_length == QueueLimits().dead_letters
