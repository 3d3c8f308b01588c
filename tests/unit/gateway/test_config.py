"""Gateway settings: TOML file, paths relative to it, CASELINK_* variables win."""

import re
from pathlib import Path

import pytest

from broker.gateway.config import GatewaySettings, load_settings
from broker.gateway.users import Role, UsersFileError
from broker.keystore import KeyFilePermissionError
from broker.settings_file import ConfigError, sqlite_url_relative_to
from broker.store.gateway_store import SqlGatewayStore
from tests.gateway_users import users_toml
from tests.server_certs import self_signed

EXAMPLE = Path(__file__).parents[3] / "deploy" / "gateway" / "gateway.example.toml"


def test_the_example_config_loads_with_paths_relative_to_it() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.agency_id == "oscc-north"
    assert settings.key_file == (EXAMPLE.parents[2] / "fed" / "oscc-north.key").resolve()
    assert (settings.api_host, settings.api_port) == ("127.0.0.1", 8081)


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASELINK_AMQP_URL", "amqp://other@127.0.0.1/caselink")
    monkeypatch.setenv("CASELINK_PREFETCH", "32")
    settings = load_settings(EXAMPLE)
    assert settings.amqp_url == "amqp://other@127.0.0.1/caselink"
    assert settings.prefetch == 32


def test_invalid_settings_name_the_fields_only(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        EXAMPLE.read_text().replace('"oscc-north"', '"Not A Slug!"', 1)
        + 'unknown_setting = "SECRET-VALUE"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert "agency_id" in str(refused.value)
    assert "unknown_setting" in str(refused.value)
    assert "SECRET-VALUE" not in str(refused.value)
    assert "Not A Slug" not in str(refused.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path / "absent.toml")


def test_a_vhost_setting_is_refused_the_url_names_the_vhost(tmp_path: Path) -> None:
    # It used to be accepted and then ignored: the connection goes where amqp_url says.
    config = tmp_path / "vhost.toml"
    config.write_text(EXAMPLE.read_text() + 'vhost = "elsewhere"\n')
    with pytest.raises(ConfigError, match="vhost"):
        load_settings(config)


def _with_users(tmp_path: Path, content: str, mode: int) -> Path:
    users = tmp_path / "users.toml"
    users.write_text(content)
    users.chmod(mode)
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())
    return config


def test_the_users_are_read_from_a_0600_file(tmp_path: Path) -> None:
    settings = load_settings(_with_users(tmp_path, users_toml(), 0o600))
    users = settings.users()
    assert sorted(users) == ["ana", "case-system", "sam"]
    assert users["ana"].role is Role.CASEWORKER


def test_a_users_file_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = load_settings(_with_users(tmp_path, users_toml(), 0o644))
    with pytest.raises(KeyFilePermissionError, match="0600"):
        settings.users()


def test_bodies_are_kept_365_days_unless_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings(EXAMPLE).retention_days == 365
    monkeypatch.setenv("CASELINK_RETENTION_DAYS", "30")
    assert load_settings(EXAMPLE).retention_days == 30
    monkeypatch.setenv("CASELINK_RETENTION_DAYS", "0")
    with pytest.raises(ConfigError, match="retention_days"):
        load_settings(EXAMPLE)


def test_a_missing_or_empty_users_file_is_refused_in_one_line(tmp_path: Path) -> None:
    settings = load_settings(_with_users(tmp_path, "", 0o600))
    with pytest.raises(UsersFileError, match="no \\[\\[users\\]\\] entry"):
        settings.users()
    (tmp_path / "users.toml").unlink()
    with pytest.raises(UsersFileError, match="add-user"):
        settings.users()


def test_a_token_file_setting_is_refused_users_file_replaced_it(tmp_path: Path) -> None:
    config = tmp_path / "old.toml"
    config.write_text(EXAMPLE.read_text() + 'token_file = "api-token"\n')
    with pytest.raises(ConfigError, match="token_file"):
        load_settings(config)


@pytest.mark.parametrize(
    ("setting", "url"),
    [
        ("amqp_url", "amqp://oscc-north:SECRET-PW@127.0.0.1:5672/caselink"),
        ("store_url", "postgresql+asyncpg://gw:SECRET-PW@127.0.0.1/gateway"),
    ],
)
def test_a_settings_file_holding_a_password_must_be_0600(
    tmp_path: Path, setting: str, url: str
) -> None:
    config = tmp_path / "gateway.toml"
    lines = [line for line in EXAMPLE.read_text().splitlines() if not line.startswith(setting)]
    config.write_text("\n".join([*lines, f'{setting} = "{url}"', ""]))
    config.chmod(0o640)
    with pytest.raises(KeyFilePermissionError, match=setting) as refused:
        load_settings(config)
    assert "SECRET-PW" not in str(refused.value)
    config.chmod(0o600)
    assert load_settings(config).api_port == 8081


def test_a_readable_settings_file_without_passwords_is_fine(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())
    config.chmod(0o644)
    assert load_settings(config).agency_id == "oscc-north"


def test_a_relative_sqlite_store_is_next_to_the_config_wherever_the_gateway_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "gateway.toml"
    config.write_text(EXAMPLE.read_text())  # store_url: "data/oscc-north/gateway.db"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("../etc/gateway.toml"))
    expected = folder.resolve() / "data" / "oscc-north" / "gateway.db"
    assert settings.store_url == f"sqlite+aiosqlite:///{expected}"


async def test_the_store_opens_the_outbox_next_to_the_config_not_in_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = folder / "gateway.toml"
    config.write_text(
        EXAMPLE.read_text().replace("data/oscc-north/gateway.db", "data/outbox.db?timeout=5")
    )
    (folder / "data").mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    store = SqlGatewayStore(load_settings(config).store_url)
    await store.create()
    await store.close()
    assert (folder / "data" / "outbox.db").exists()
    assert list(elsewhere.iterdir()) == []


def _with_metrics_token(tmp_path: Path, content: bytes, mode: int) -> GatewaySettings:
    token = tmp_path / "metrics-token"
    token.write_bytes(content)
    token.chmod(mode)
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())  # metrics_token_file = "metrics-token"
    return load_settings(config)


def test_the_metrics_token_is_read_from_its_own_0600_file(tmp_path: Path) -> None:
    settings = _with_metrics_token(tmp_path, b"m" * 43 + b"\n", 0o600)
    assert settings.metrics_token_file == tmp_path / "metrics-token"
    assert settings.metrics_token() == "m" * 43


def test_a_metrics_token_others_can_read_is_refused(tmp_path: Path) -> None:
    settings = _with_metrics_token(tmp_path, b"m" * 43 + b"\n", 0o640)
    with pytest.raises(KeyFilePermissionError, match="0600"):
        settings.metrics_token()


@pytest.mark.parametrize("content", [b"\n", b"short\n"])
def test_an_empty_or_short_metrics_token_is_refused(tmp_path: Path, content: bytes) -> None:
    settings = _with_metrics_token(tmp_path, content, 0o600)
    with pytest.raises(ConfigError, match="no usable token"):
        settings.metrics_token()


def test_without_a_metrics_token_file_there_is_no_metrics_token(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(re.sub(r"(?m)^metrics_token_file.*$", "", EXAMPLE.read_text()))
    assert load_settings(config).metrics_token() is None


@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("sqlite+aiosqlite:///inbox.db", "sqlite+aiosqlite:////etc/caselink/inbox.db"),
        ("sqlite:///../data/inbox.db?timeout=5", "sqlite:////etc/data/inbox.db?timeout=5"),
        ("sqlite+aiosqlite:////srv/inbox.db", "sqlite+aiosqlite:////srv/inbox.db"),
        ("sqlite+aiosqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///:memory:", "sqlite+aiosqlite:///:memory:"),
        ("sqlite:///file:inbox.db?mode=ro&uri=true", "sqlite:///file:inbox.db?mode=ro&uri=true"),
        ("postgresql+asyncpg://caselink@db/inbox", "postgresql+asyncpg://caselink@db/inbox"),
    ],
)
def test_only_a_relative_sqlite_file_is_resolved(url: str, resolved: str) -> None:
    assert sqlite_url_relative_to(url, Path("/etc/caselink")) == resolved


def test_the_inbox_pages_session_secret_is_a_private_file_beside_the_config(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(EXAMPLE.read_text())
    assert load_settings(config).session_secret_file == tmp_path / "session-secret"
    secret = tmp_path / "session-secret"
    secret.write_text("a-random-secret-of-forty-three-characters-x\n")
    secret.chmod(0o600)
    assert load_settings(config).session_secret() == b"a-random-secret-of-forty-three-characters-x"
    secret.chmod(0o644)
    with pytest.raises(KeyFilePermissionError):
        load_settings(config).session_secret()
    config.write_text(EXAMPLE.read_text().replace("session_secret_file", "# session_secret_file"))
    assert load_settings(config).session_secret() is None


def test_https_files_are_next_to_the_config_and_make_cookies_secure(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    pair = self_signed(tmp_path / "tls", "gateway")
    config = tmp_path / "gateway.toml"
    uncommented = EXAMPLE.read_text().replace("# tls_", "tls_")
    config.write_text(uncommented.replace("# secure_cookie = true", "secure_cookie = false"))
    settings = load_settings(config)
    assert (settings.tls_certificate, settings.tls_key) == (pair.certificate, pair.key)
    assert settings.secure_cookie is False
    assert settings.cookies_secure  # over HTTPS whatever the file says
    assert settings.server_tls() is not None


def test_without_https_files_the_api_serves_plain_http() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.server_tls() is None
    assert settings.cookies_secure
