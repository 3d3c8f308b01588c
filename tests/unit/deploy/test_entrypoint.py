"""deploy/image/entrypoint.sh: a secret setting read from its file into its variable, the
_FROM_FILE variable gone, `caselink` given the arguments; an unreadable file stops it."""

import os
import subprocess
from pathlib import Path

from tests.unit.deploy.manifests import DEPLOY

ENTRYPOINT = DEPLOY / "image" / "entrypoint.sh"


def run(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A stand-in `caselink` that shows what it was given.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "caselink"
    fake.write_text('#!/bin/sh\necho "args: $*"\nenv | grep ^CASELINK_ | sort\n')
    fake.chmod(0o755)
    return subprocess.run(
        ["sh", str(ENTRYPOINT), "gateway", "--config", "/etc/caselink/gateway.toml"],
        env={"PATH": f"{bin_dir}:{os.environ['PATH']}", **env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def test_a_secret_setting_comes_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "amqp-url"
    secret.write_text("amqp://oscc-north:s3cret pass@rabbitmq:5672/caselink\n")
    result = run(
        tmp_path,
        {
            "CASELINK_AMQP_URL_FROM_FILE": str(secret),
            "CASELINK_KEY_FILE": "/run/secrets/oscc-north-key",  # a path setting: left alone
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "args: gateway --config /etc/caselink/gateway.toml",
        "CASELINK_AMQP_URL=amqp://oscc-north:s3cret pass@rabbitmq:5672/caselink",
        "CASELINK_KEY_FILE=/run/secrets/oscc-north-key",
    ]


def test_an_unreadable_secret_file_stops_it_naming_the_variable(tmp_path: Path) -> None:
    result = run(tmp_path, {"CASELINK_TRACKER_STORE_URL_FROM_FILE": str(tmp_path / "missing")})
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"caselink-entrypoint: CASELINK_TRACKER_STORE_URL_FROM_FILE names {tmp_path / 'missing'},"
        " which cannot be read\n"
    )
