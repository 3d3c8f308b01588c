"""The `[adapters.police]` table: one-line refusals, secrets that others may read refused."""

import os
from pathlib import Path

import pytest

from adapters.police import build
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext
from broker.keystore import KeyFilePermissionError
from tests.memory_federation import memory_federation
from tests.unit.adapters.police.harness import POLICE, police_table
from tests.unit.gateway.api_harness import make_gateway


def context(folder: Path) -> AdapterContext:
    return AdapterContext(
        gateway=make_gateway(memory_federation(), POLICE),
        folder=folder,
        clock=lambda: 0.0,
    )


def test_a_valid_table_builds_with_its_paths_from_the_config_folder(tmp_path: Path) -> None:
    adapter = build(police_table(tmp_path, "https://police.example/cb"), context(tmp_path))
    assert adapter.name == "police"
    assert adapter.self_authenticated_paths() == ["/police/notifications"]
    assert adapter.settings.store_url == f"sqlite+aiosqlite:///{tmp_path}/police/police.db"
    assert oct((tmp_path / "police").stat().st_mode & 0o777) == "0o700"
    assert oct((tmp_path / "police" / "police.db").stat().st_mode & 0o777) == "0o600"


def test_a_secret_others_may_read_is_refused(tmp_path: Path) -> None:
    table = police_table(tmp_path, "https://police.example/cb")
    os.chmod(tmp_path / "secrets" / "in.whsec", 0o644)
    with pytest.raises(KeyFilePermissionError, match="it must be 0600"):
        build(table, context(tmp_path))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.update(send_as="ana"), "send_as names no system user"),
        (lambda t: t.update(send_as="nobody"), "send_as names no system user"),
        (lambda t: t.update(recipient="Social East"), r"invalid recipient$"),
        (lambda t: t.update(systems={}), r"invalid systems$"),
        (lambda t: t.update(colour="blue"), r"invalid colour$"),
        (
            lambda t: t["systems"]["niche-west"].update(secret_file="secrets/none"),
            r"systems.niche-west.secret_file: no file at",
        ),
    ],
)
def test_a_bad_table_is_one_line(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    table = police_table(tmp_path, "https://police.example/cb")
    change(table)
    with pytest.raises(AdapterConfigError, match=message) as refused:
        build(table, context(tmp_path))
    assert "\n" not in str(refused.value)


def test_a_secret_that_is_not_whsec_is_refused_without_quoting_it(tmp_path: Path) -> None:
    table = police_table(tmp_path, "https://police.example/cb")
    path = tmp_path / "secrets" / "in.whsec"
    path.write_text("whsec_c2hvcnQ=")
    with pytest.raises(AdapterConfigError, match="must be 24 to 64 bytes") as refused:
        build(table, context(tmp_path))
    assert "c2hvcnQ" not in str(refused.value)


def test_a_plain_http_callback_is_refused_unless_to_this_machine(tmp_path: Path) -> None:
    with pytest.raises(AdapterConfigError, match="callback_url"):
        build(police_table(tmp_path, "http://police.example/cb"), context(tmp_path))
    local = tmp_path / "local"
    local.mkdir()
    build(police_table(local, "http://127.0.0.1:9/cb"), context(local))
