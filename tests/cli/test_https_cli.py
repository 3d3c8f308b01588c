"""`caselink gateway` and `caselink tracker` with HTTPS files that cannot serve: one line
naming the file and the fault, exit 2, before anything is opened (no broker needed)."""

import os
from pathlib import Path

import pytest

from broker.keystore import write_private, write_public
from broker.people.passwords import hash_password
from tests.cli.test_gateway_cli import caselink, config_in
from tests.integration.rabbit_federation import make_keys
from tests.server_certs import ServerCertificate, self_signed


def gateway_with_tls(folder: Path, pair: ServerCertificate) -> Path:
    config = config_in(folder, f"sqlite+aiosqlite:///{folder / 'data' / 'gateway.db'}")
    with config.open("a") as settings:
        settings.write(f'tls_certificate = "{pair.certificate}"\ntls_key = "{pair.key}"\n')
    return config


def tracker_with_tls(folder: Path, pair: ServerCertificate) -> Path:
    root, _, signed = make_keys(["oscc-north", "police-west"])
    write_public(folder / "directory.json", signed)
    write_public(folder / "root.pub.json", root.public().to_bytes())
    write_private(folder / "secret", os.urandom(32).hex().encode())
    password_hash = hash_password("synthetic", n=256)
    users = f'[[users]]\nname = "coord"\nrole = "coordinator"\npassword_hash = "{password_hash}"\n'
    write_private(folder / "users.toml", users.encode())
    config = folder / "tracker.toml"
    config.write_text(
        'amqp_url = "amqp://unused@127.0.0.1:1/caselink"\n'
        'directory = "directory.json"\nroot_pub = "root.pub.json"\n'
        f'store_url = "sqlite+aiosqlite:///{folder / "data" / "tracker.db"}"\n'
        'coordinators = ["police-west"]\nusers_file = "users.toml"\n'
        'session_secret_file = "secret"\nlisten = "127.0.0.1:1"\n'
        f'tls_certificate = "{pair.certificate}"\ntls_key = "{pair.key}"\n'
    )
    return config


STARTS = {"gateway": gateway_with_tls, "tracker": tracker_with_tls}


def start(service: str, tmp_path: Path, pair: ServerCertificate) -> tuple[int, str]:
    result = caselink(service, "--config", STARTS[service](tmp_path, pair))
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    assert not (tmp_path / "data").exists()  # refused before the store was opened
    return result.returncode, result.stderr


@pytest.mark.parametrize("service", ["gateway", "tracker"])
def test_a_tls_key_others_can_read_is_refused_in_one_line(tmp_path: Path, service: str) -> None:
    pair = self_signed(tmp_path)
    pair.key.chmod(0o644)
    assert start(service, tmp_path, pair) == (
        2,
        f"caselink: key_file_permissions: {pair.key} has mode 644; it must be 0600\n",
    )


@pytest.mark.parametrize("service", ["gateway", "tracker"])
def test_a_key_of_another_certificate_is_refused_in_one_line(tmp_path: Path, service: str) -> None:
    ours, theirs = self_signed(tmp_path, "ours"), self_signed(tmp_path, "theirs")
    mixed = ServerCertificate(ours.certificate, theirs.key)
    assert start(service, tmp_path, mixed) == (
        2,
        f"caselink: bad_tls_files: {theirs.key} is not the key of the certificate in"
        f" {ours.certificate}\n",
    )


def test_a_missing_certificate_is_named_in_one_line(tmp_path: Path) -> None:
    pair = self_signed(tmp_path)
    absent = ServerCertificate(tmp_path / "absent.crt", pair.key)
    assert start("gateway", tmp_path, absent) == (
        2,
        f"caselink: no such file: {tmp_path / 'absent.crt'}\n",
    )
