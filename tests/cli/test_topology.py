"""`caselink topology export` (and `apply`'s refusals, which need no broker) as a subprocess."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from broker.envelope import AgencyKeys, RootKey, build_directory
from broker.topology.definition_checks import check_definitions
from broker.topology.definitions import password_matches
from schemas.kinds import AgencyKind

AGENCY_IDS = ["oscc-north", "social-east"]
NOW = 1_767_225_600


def caselink(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", "topology", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A signed directory of two agencies and its root public key."""
    home = tmp_path_factory.mktemp("topology")
    root = RootKey.generate(now=NOW)
    agencies = [
        AgencyKeys.generate(a, now=NOW).public_entry(kind=AgencyKind.POLICE, name=f"Test {a}")
        for a in AGENCY_IDS
    ]
    (home / "dir.json").write_bytes(build_directory(agencies, root, now=NOW))
    (home / "root.pub.json").write_bytes(root.public().to_bytes())
    other_root = RootKey.generate(now=NOW)
    (home / "other.pub.json").write_bytes(other_root.public().to_bytes())
    return home


def directory_args(home: Path, secrets: Path, root_pub: str = "root.pub.json") -> list[str | Path]:
    return ["--directory", home / "dir.json", "--root-pub", home / root_pub, "--secrets", secrets]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_writes_definitions_and_secrets_0600(home: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "definitions.json", tmp_path / "secrets" / "pw.json"
    options: list[str | Path] = ["--out", out, "--vhost", "caselink-x", "--user-prefix", "x-"]
    result = caselink("export", *directory_args(home, secrets), *options)
    assert result.returncode == 0, result.stderr
    assert (
        result.stderr.strip() == f"definitions for 2 agencies in vhost caselink-x written to {out}"
    )
    assert result.stdout == ""
    assert (mode(out), mode(secrets)) == (0o600, 0o600)

    definitions = json.loads(out.read_text())
    passwords = json.loads(secrets.read_text())
    check_definitions(definitions)
    assert definitions["vhosts"] == [{"name": "caselink-x"}]
    assert [u["name"] for u in definitions["users"]] == [
        "x-oscc-north",
        "x-social-east",
        "x-tracker",
        "x-dlq-operator",
        "x-notifier",
    ]
    assert set(passwords) == {
        "x-oscc-north",
        "x-social-east",
        "x-tracker",
        "x-dlq-operator",
        "x-notifier",
    }
    for user in definitions["users"]:
        assert password_matches(user["password_hash"], passwords[user["name"]])
    for password in passwords.values():
        assert password not in out.read_text()


def test_export_again_keeps_passwords_and_replaces_the_file(home: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "definitions.json", tmp_path / "pw.json"
    assert caselink("export", *directory_args(home, secrets), "--out", out).returncode == 0
    first = secrets.read_bytes()
    again = caselink("export", *directory_args(home, secrets), "--out", out)
    assert again.returncode == 0, again.stderr
    assert secrets.read_bytes() == first
    assert json.loads(out.read_text())["vhosts"] == [{"name": "caselink"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["definitions.json", "pw.json"]


def test_a_directory_from_another_root_is_refused_with_exit_3(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "definitions.json"
    other_root = directory_args(home, tmp_path / "pw.json", "other.pub.json")
    result = caselink("export", *other_root, "--out", out)
    assert result.returncode == 3
    assert result.stderr.startswith("caselink: refused (directory_wrong_root)")
    assert not out.exists()
    assert not (tmp_path / "pw.json").exists()


def test_a_tampered_directory_is_refused_with_exit_3(home: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "dir.json"
    tampered.write_bytes((home / "dir.json").read_bytes().replace(b"Test oscc", b"Test osCc"))
    args = directory_args(home, tmp_path / "pw.json")
    args[1] = tampered
    result = caselink("export", *args, "--out", tmp_path / "out.json")
    assert result.returncode == 3
    assert "refused (directory_bad_signature)" in result.stderr


def test_usage_errors_exit_2(home: Path, tmp_path: Path) -> None:
    out, secrets = tmp_path / "out.json", tmp_path / "pw.json"
    no_directory = caselink("export", "--root-pub", home / "root.pub.json", "--out", out)
    assert (no_directory.returncode, no_directory.stderr.strip()) == (
        2,
        "caselink: give --directory and --root-pub",
    )
    args = directory_args(home, secrets)
    args[1] = tmp_path / "nope.json"
    missing = caselink("export", *args, "--out", out)
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert not out.exists()


def test_a_secrets_file_others_can_read_is_refused(home: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "pw.json"
    secrets.write_text("{}")
    secrets.chmod(0o644)
    result = caselink("export", *directory_args(home, secrets), "--out", tmp_path / "out.json")
    assert result.returncode == 2
    assert "key_file_permissions" in result.stderr
    assert "must be 0600" in result.stderr


def test_apply_refuses_before_touching_rabbitmq(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "definitions.json"
    assert (
        caselink("export", *directory_args(home, tmp_path / "pw.json"), "--out", out).returncode
        == 0
    )
    both = caselink("apply", out, "--directory", home / "dir.json")
    assert both.returncode == 2
    assert "not both" in both.stderr

    broken = json.loads(out.read_text())
    broken["permissions"][0]["user"] = "nobody"
    out.write_text(json.dumps(broken))
    refused = caselink("apply", out)
    assert refused.returncode == 2
    assert "topology_error: definitions: permissions names unknown user nobody" in refused.stderr

    out.chmod(0o644)
    exposed = caselink("apply", out)
    assert exposed.returncode == 2
    assert "must be 0600" in exposed.stderr


def test_amqp_url_prints_the_users_url_from_the_secrets_file(home: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "pw.json"
    out = tmp_path / "defs.json"
    prefix = ["--vhost", "trial/1", "--user-prefix", "t-"]
    assert caselink("export", *directory_args(home, secrets), *prefix, "--out", out).returncode == 0
    passwords = json.loads(secrets.read_text())
    result = caselink("amqp-url", "oscc-north", "--secrets", secrets, *prefix)
    assert result.returncode == 0, result.stderr
    password = passwords["t-oscc-north"]
    assert result.stdout == f"amqp://t-oscc-north:{password}@127.0.0.1:5672/trial%2F1\n"


def test_amqp_url_reads_vhost_and_prefix_from_the_environment(home: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "pw.json"
    env = {**os.environ, "CASELINK_VHOST": "trial", "CASELINK_USER_PREFIX": "e-"}
    export = [*directory_args(home, secrets), "--out", tmp_path / "defs.json"]
    assert caselink("export", *export, env=env).returncode == 0
    assert "e-tracker" in json.loads(secrets.read_text())
    result = caselink("amqp-url", "tracker", "--secrets", secrets, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("amqp://e-tracker:")
    assert result.stdout.endswith("@127.0.0.1:5672/trial\n")


def test_amqp_url_of_an_unknown_user_exits_2(home: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "pw.json"
    out = tmp_path / "defs.json"
    assert caselink("export", *directory_args(home, secrets), "--out", out).returncode == 0
    result = caselink("amqp-url", "ghost-agency", "--secrets", secrets)
    assert result.returncode == 2
    assert "ghost-agency" in result.stderr
    assert result.stdout == ""
