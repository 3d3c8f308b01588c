"""The `caselink` verbs run as a subprocess: outputs, refusals and exit codes."""

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from broker.envelope import b64d

AGENCIES = {
    "oscc-north": ("health", "North Hospital OSCC"),
    "social-east": ("social_services", "East Municipality Social Services"),
    "police-west": ("police", "West Police Child Unit"),
}


def caselink(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(*args: str | Path) -> str:
    result = caselink(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root key, three agencies and a signed directory, made with the CLI itself."""
    home = tmp_path_factory.mktemp("federation")
    ok("keys", "root", "--out", home)
    for agency_id, (kind, name) in AGENCIES.items():
        ok("keys", "agency", agency_id, "--kind", kind, "--name", name, "--out", home)
    entries = [home / f"{a}.pub.json" for a in AGENCIES]
    ok("directory", "build", "--root", home / "root.key", "--out", home / "dir.json", *entries)
    return home


def seal_args(home: Path, sender: str, to: str, body: Path, kind: str = "referral") -> list[str]:
    return [
        "seal",
        "--directory",
        str(home / "dir.json"),
        "--root-pub",
        str(home / "root.pub.json"),
        "--key",
        str(home / f"{sender}.key"),
        "--to",
        to,
        "--kind",
        kind,
        str(body),
    ]


def open_args(home: Path, recipient: str, envelope: Path, directory: str = "dir.json") -> list[str]:
    return [
        "open",
        "--directory",
        str(home / directory),
        "--root-pub",
        str(home / "root.pub.json"),
        "--key",
        str(home / f"{recipient}.key"),
        str(envelope),
    ]


def refused(result: subprocess.CompletedProcess[str], reason: str) -> None:
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert reason in lines[0]


@pytest.fixture(scope="module")
def referral(federation: Path) -> Path:
    body = federation / "referral.json"
    body.write_text(ok("schemas", "example", "referral"))
    return body


@pytest.fixture(scope="module")
def envelope(federation: Path, referral: Path) -> Path:
    path = federation / "referral.env"
    path.write_text(ok(*seal_args(federation, "oscc-north", "social-east", referral)))
    return path


def test_private_keys_are_0600_and_public_entries_are_directory_entries(federation: Path) -> None:
    for agency_id in AGENCIES:
        assert stat.S_IMODE((federation / f"{agency_id}.key").stat().st_mode) == 0o600
        entry = json.loads((federation / f"{agency_id}.pub.json").read_text())
        assert entry["id"] == agency_id
        assert {k["use"] for k in entry["keys"]} == {"sig", "enc"}
    assert stat.S_IMODE((federation / "root.key").stat().st_mode) == 0o600


def test_keys_are_never_overwritten(federation: Path) -> None:
    result = caselink("keys", "root", "--out", federation)
    assert result.returncode == 2
    assert "refusing to overwrite" in result.stderr


def test_directory_verify_lists_every_agency(federation: Path) -> None:
    out = ok(
        "directory", "verify", "--root-pub", federation / "root.pub.json", federation / "dir.json"
    )
    assert "valid" in out.splitlines()[0]
    for agency_id in AGENCIES:
        assert agency_id in out


def test_seal_then_open_gives_back_the_body(
    federation: Path, referral: Path, envelope: Path
) -> None:
    opened = ok(*open_args(federation, "social-east", envelope))
    assert json.loads(opened) == json.loads(referral.read_text())


def test_every_example_kind_round_trips(federation: Path) -> None:
    for kind in ("transfer", "consent", "acknowledgement"):
        body = federation / f"{kind}.json"
        body.write_text(ok("schemas", "example", kind))
        sealed = federation / f"{kind}.env"
        sealed.write_text(ok(*seal_args(federation, "social-east", "police-west", body, kind)))
        opened = ok(*open_args(federation, "police-west", sealed))
        assert json.loads(opened) == json.loads(body.read_text())


def test_wrong_recipient_is_refused_without_body_content(
    federation: Path, referral: Path, envelope: Path
) -> None:
    result = caselink(*open_args(federation, "police-west", envelope))
    refused(result, "not_for_recipient")
    narrative = json.loads(referral.read_text())["narrative"]
    assert narrative[:20] not in result.stderr
    assert result.stdout == ""


def test_tampered_envelope_is_refused(federation: Path, envelope: Path) -> None:
    raw = bytearray(envelope.read_bytes())
    middle = raw.index(b'"ciphertext":"') + 40
    raw[middle] = ord("A") if raw[middle] != ord("A") else ord("B")
    tampered = federation / "tampered.env"
    tampered.write_bytes(bytes(raw))
    refused(caselink(*open_args(federation, "social-east", tampered)), "bad_signature")


def test_truncated_envelope_is_refused(federation: Path, envelope: Path) -> None:
    truncated = federation / "truncated.env"
    truncated.write_bytes(envelope.read_bytes()[:-7])
    refused(caselink(*open_args(federation, "social-east", truncated)), "malformed")


def test_revoked_sender_key_is_refused(federation: Path, envelope: Path) -> None:
    revoked = federation / "revoked-dir.json"
    revoked.write_bytes((federation / "dir.json").read_bytes())
    entry = json.loads((federation / "oscc-north.pub.json").read_text())
    sig_kid = next(k["kid"] for k in entry["keys"] if k["use"] == "sig")
    ok("directory", "revoke", "--root", federation / "root.key", "--kid", sig_kid, revoked)
    verified = ok("directory", "verify", "--root-pub", federation / "root.pub.json", revoked)
    assert "revoked" in verified
    result = caselink(*open_args(federation, "social-east", envelope, "revoked-dir.json"))
    refused(result, "key_revoked")


def test_directory_signed_by_another_root_is_refused(federation: Path, tmp_path: Path) -> None:
    ok("keys", "root", "--out", tmp_path)
    result = caselink(
        "directory", "verify", "--root-pub", tmp_path / "root.pub.json", federation / "dir.json"
    )
    assert result.returncode == 3, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_tampered_directory_is_refused(federation: Path, tmp_path: Path) -> None:
    content = (federation / "dir.json").read_text().replace("West Police", "East Police")
    forged = tmp_path / "forged.json"
    forged.write_text(content)
    result = caselink("directory", "verify", "--root-pub", federation / "root.pub.json", forged)
    assert result.returncode == 3, result.stderr


def test_invalid_body_is_a_usage_error_naming_fields_only(federation: Path, tmp_path: Path) -> None:
    # An unknown key can itself be case data: it is named by its position, never its name.
    referral = json.loads(ok("schemas", "example", "referral"))
    referral["narrative"] = "SECRET-MARKER"
    referral["subject"]["Jane Roe born 2012-03-04"] = "x"
    referral["CASE-4711"] = 1
    body = tmp_path / "bad.json"
    body.write_text(json.dumps(referral))
    result = caselink(*seal_args(federation, "oscc-north", "social-east", body))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "<extra field #1>, subject.<extra field #1>" in result.stderr
    for secret in ("SECRET-MARKER", "Jane", "2012", "CASE", "4711"):
        assert secret not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["keys", "agency", "x-agency", "--name", "No Kind", "--out", "/tmp"],
        ["schemas", "example", "letter"],
        ["seal", "--to", "social-east"],
        ["no-such-verb"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert caselink(*args).returncode == 2


def test_schemas_export_writes_one_file_per_model(tmp_path: Path) -> None:
    ok("schemas", "export", tmp_path)
    names = {p.stem for p in tmp_path.glob("*.json")}
    assert {"referral", "transfer", "consent", "acknowledgement", "alert"} <= names
    checked_in = Path(__file__).parents[2] / "schemas" / "json"
    for path in tmp_path.glob("*.json"):
        assert path.read_text() == (checked_in / path.name).read_text(), path.name


def test_gateway_with_a_missing_key_file_exits_2_with_one_line(tmp_path: Path) -> None:
    # A copy, so that keys a README walk-through left in fed/ cannot start a real gateway.
    example = Path(__file__).parents[2] / "deploy" / "gateway" / "gateway.example.toml"
    config = tmp_path / "deploy" / "gateway" / "gateway.toml"
    config.parent.mkdir(parents=True)
    config.write_text(example.read_text())
    result = caselink("gateway", "--config", config)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "oscc-north.key" in result.stderr


def test_directory_build_skips_the_root_public_key(federation: Path, tmp_path: Path) -> None:
    # `fed/*.pub.json` also names root.pub.json, which `keys root` wrote beside the entries.
    entries = sorted(federation.glob("*.pub.json"))
    assert federation / "root.pub.json" in entries
    result = caselink(
        "directory",
        "build",
        "--root",
        federation / "root.key",
        "--out",
        tmp_path / "d.json",
        *entries,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped" in result.stderr
    assert "root.pub.json" in result.stderr
    listed = ok(
        "directory", "verify", "--root-pub", federation / "root.pub.json", tmp_path / "d.json"
    )
    assert f"{len(AGENCIES)} agencies, valid" in listed


def test_directory_build_over_a_directory_takes_the_next_serial(
    federation: Path, tmp_path: Path
) -> None:
    # Services refuse a directory older than one they accepted: a rebuilt one (an agency
    # added) must come after the directory it replaces, never start at 1 again.
    entries = [federation / f"{a}.pub.json" for a in AGENCIES]
    out = tmp_path / "d.json"
    root_pub = federation / "root.pub.json"
    build = ["directory", "build", "--root", federation / "root.key", "--out", out]
    ok(*build, *entries[:2])
    assert "directory serial 1:" in ok("directory", "verify", "--root-pub", root_pub, out)
    ok(*build, *entries)
    listed = ok("directory", "verify", "--root-pub", root_pub, out)
    assert f"directory serial 2: {len(AGENCIES)} agencies" in listed
    ok("keys", "root", "--out", tmp_path)  # another federation's root
    other = caselink("directory", "build", "--root", tmp_path / "root.key", "--out", out, *entries)
    assert other.returncode == 2
    assert "holds no directory of this root (directory_wrong_root)" in other.stderr


def test_directory_build_without_agency_entries_exits_2(federation: Path, tmp_path: Path) -> None:
    args = ["directory", "build", "--root", federation / "root.key", "--out", tmp_path / "d.json"]
    alone = caselink(*args, federation / "root.pub.json")
    assert alone.returncode == 2
    assert "no agency entries" in alone.stderr
    (tmp_path / "x.pub.json").write_text('{"id": "SECRET-VALUE"}')
    wrong = caselink(*args, tmp_path / "x.pub.json")
    assert wrong.returncode == 2
    assert "x.pub.json is not an agency entry" in wrong.stderr
    assert "SECRET-VALUE" not in wrong.stderr
    assert not (tmp_path / "d.json").exists()


def test_keys_secret_writes_32_random_bytes_0600_once(tmp_path: Path) -> None:
    ok("keys", "secret", "--out", tmp_path / "a")
    ok("keys", "secret", "--out", tmp_path / "b")
    first, second = (tmp_path / "a").read_text(), (tmp_path / "b").read_text()
    assert first.endswith("\n")
    assert first.count("\n") == 1
    assert len(b64d(first.strip())) == 32
    assert first != second
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o600
    again = caselink("keys", "secret", "--out", tmp_path / "a")
    assert again.returncode == 2
    assert (tmp_path / "a").read_text() == first
