"""deploy/compose.yaml: every service with its health check and volumes, secrets referred to
as files and never written out, each mounted settings file an example of the repository that
the services' own loaders accept; `docker compose config` where Docker Compose exists."""

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.education.settings import parse_settings as education_settings
from adapters.health.settings import load_settings as health_settings
from adapters.police.settings import load as police_settings
from adapters.social.settings import load_settings as social_settings
from broker.gateway.config import GatewaySettings
from broker.gateway.config import load_settings as load_gateway_settings
from broker.notifier.config import NotifierSettings, load_notifier_settings
from broker.tracker.config import TrackerSettings, load_tracker_settings
from tests.unit.deploy.manifests import DEPLOY, ROOT, SECRET_NAME, literal_secrets

COMPOSE = DEPLOY / "compose.yaml"
KINDS = ("health", "education", "police", "social")
CASELINK = ("tracker", "notifier", *(f"gateway-{kind}" for kind in KINDS))
STATEFUL = {  # a service and the folder its store (or data) lives in
    "rabbitmq": "/var/lib/rabbitmq",
    "postgres": "/var/lib/postgresql/data",
    "notifier": "/var/lib/caselink",
    **{f"gateway-{kind}": "/var/lib/caselink" for kind in KINDS},
}
SETTINGS: dict[str, type[GatewaySettings | TrackerSettings | NotifierSettings]] = {
    "gateway": GatewaySettings,
    "tracker": TrackerSettings,
    "notifier": NotifierSettings,
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def running(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services `up` starts (tools in a profile are run by hand)."""
    return {name: s for name, s in services(compose).items() if "profiles" not in s}


def test_the_federation_has_its_broker_database_tracker_notifier_and_a_gateway_per_kind(
    compose: dict[str, Any],
) -> None:
    assert set(running(compose)) == {"rabbitmq", "postgres", *CASELINK}
    assert services(compose)["rabbitmq"]["image"].startswith("rabbitmq:3.")
    assert services(compose)["rabbitmq"]["image"].endswith("-management")
    assert services(compose)["postgres"]["image"].startswith("postgres:")


def test_caselink_services_run_one_image_each_as_its_process(compose: dict[str, Any]) -> None:
    images = {services(compose)[name]["image"] for name in CASELINK}
    assert len(images) == 1
    for name in CASELINK:
        service = services(compose)[name]
        process = name.split("-")[0]
        assert service["command"][:3] == [process, "--config", f"/etc/caselink/{process}.toml"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
    assert services(compose)["tracker"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_the_image_runs_as_a_user_with_no_secret_baked_in() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users == ["caselink:caselink"]  # the last (only) USER: never root at run time
    assert "caselink-entrypoint" in dockerfile
    assert not re.search(r"^(ENV|ARG)\s.*(PASSWORD|SECRET|TOKEN|KEY)", dockerfile, re.M | re.I)
    assert not re.search(r"^COPY\s.*(fed|secrets|\.key)", dockerfile, re.M)
    ignored = [
        line for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] not in "#"
    ]
    assert ignored[0] == "**"  # nothing but what is listed again goes into the context


def test_each_service_has_a_health_check_of_its_own_kind(compose: dict[str, Any]) -> None:
    checks = {name: s["healthcheck"]["test"] for name, s in running(compose).items()}
    assert checks["rabbitmq"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert checks["postgres"][:2] == ["CMD", "pg_isready"]
    assert checks["tracker"] == ["CMD", "caselink-healthz", "http://127.0.0.1:8090/healthz"]
    for kind in KINDS:
        assert checks[f"gateway-{kind}"] == [
            "CMD",
            "caselink-healthz",
            "http://127.0.0.1:8081/healthz",
        ]
    assert checks["notifier"] == ["CMD", "caselink-healthz", "tcp://rabbitmq:5672"]
    # The HTTP checks ask where each process listens.
    for name in ("tracker", *(f"gateway-{kind}" for kind in KINDS)):
        settings = settings_of(compose, name)
        listen = settings.listen if isinstance(settings, TrackerSettings) else settings.api_listen
        port = checks[name][2].split(":")[2].split("/")[0]
        assert listen == f"0.0.0.0:{port}", name


def test_caselink_services_wait_for_a_healthy_broker(compose: dict[str, Any]) -> None:
    for name in CASELINK:
        assert services(compose)[name]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert services(compose)["tracker"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_store_is_a_named_volume_and_the_federation_read_only(
    compose: dict[str, Any],
) -> None:
    declared = set(compose["volumes"])
    for name, folder in STATEFUL.items():
        mounts = dict(reversed(v.split(":")[:2]) for v in running(compose)[name]["volumes"])
        assert mounts[folder] in declared, name
    for name in CASELINK:
        assert "federation:/etc/caselink/federation:ro" in services(compose)[name]["volumes"]
    for name, service in running(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in declared, f"{name}: {source} is a bind mount, not a named volume"
    # Each gateway's store is its own.
    gateway_volumes = [services(compose)[f"gateway-{k}"]["volumes"][1] for k in KINDS]
    assert len(set(gateway_volumes)) == len(KINDS)


def test_secrets_are_files_kept_out_of_git_and_referred_to(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "deploy/secrets/" in ignored
    for name, secret in declared.items():
        assert set(secret) == {"file"}, name
        assert secret["file"].startswith("./secrets/"), name
    for name, service in running(compose).items():
        mine = set(service.get("secrets", []))
        assert mine <= set(declared), name
        # Every /run/secrets/X a service's settings or variables name is one of its secrets.
        named = set(re.findall(r"/run/secrets/([\w.-]+)", _settings_text(compose, name)))
        named |= {
            value.removeprefix("/run/secrets/")
            for value in service.get("environment", {}).values()
            if str(value).startswith("/run/secrets/")
        }
        assert named <= mine, (name, named - mine)
        assert mine <= named | {"rabbitmq-definitions"}, (name, mine - named)


def test_no_password_key_or_token_is_written_out(compose: dict[str, Any]) -> None:
    texts = {COMPOSE.name: COMPOSE.read_text()} | {
        path.name: path.read_text() for path in (DEPLOY / "compose").iterdir()
    }
    for name, text in texts.items():
        assert literal_secrets(text) == [], name
    for name, service in services(compose).items():
        for variable, value in service.get("environment", {}).items():
            if SECRET_NAME.search(variable):
                assert variable.endswith("_FILE"), (name, variable)
                assert str(value).startswith("/run/secrets/"), (name, variable)


def test_each_secret_setting_from_a_file_is_a_setting_of_that_process(
    compose: dict[str, Any],
) -> None:
    for name in CASELINK:
        process = name.split("-")[0]
        prefix = SETTINGS[process].model_config.get("env_prefix", "")
        for variable in services(compose)[name]["environment"]:
            assert variable.startswith(prefix), variable
            assert variable.endswith("_FROM_FILE"), variable
            field = variable.removeprefix(prefix).removesuffix("_FROM_FILE").lower()
            assert field in SETTINGS[process].model_fields, variable


def test_each_mounted_settings_file_is_in_the_repository_and_loads(
    compose: dict[str, Any],
) -> None:
    for name, config in compose["configs"].items():
        assert (DEPLOY / config["file"]).is_file(), name
    for name in CASELINK:
        settings_of(compose, name)  # raises if the service's loader refuses it
    tables = {}
    for kind in KINDS:
        settings = settings_of(compose, f"gateway-{kind}")
        assert isinstance(settings, GatewaySettings)
        assert set(settings.adapters) == {kind}
        tables[kind] = settings.adapters[kind]
    # Each adapter's own parser accepts its table (raises AdapterConfigError if not).
    health_settings(tables["health"])
    education_settings(tables["education"], Path("/"))
    police_settings(tables["police"], Path("/"))
    social_settings(tables["social"])


def test_rabbitmq_loads_the_definitions_and_makes_queues_quorum(compose: dict[str, Any]) -> None:
    conf = (DEPLOY / compose["configs"]["rabbitmq-conf"]["file"]).read_text()
    assert "load_definitions = /run/secrets/rabbitmq-definitions" in conf
    assert re.search(r"^default_queue_type = quorum$", conf, re.M)
    assert services(compose)["rabbitmq"]["secrets"] == ["rabbitmq-definitions"]


def test_published_ports_are_on_the_hosts_loopback_only(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), name


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="Docker Compose is not installed",
)
def test_docker_compose_accepts_it(tmp_path: Path) -> None:
    """`docker compose config -q` on a copy whose secret files exist (empty): no container
    is started and no image pulled."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy, ignore=shutil.ignore_patterns("secrets"))
    compose = yaml.safe_load(COMPOSE.read_text())
    for secret in compose["secrets"].values():
        target = copy / secret["file"]
        target.parent.mkdir(exist_ok=True)
        target.touch()
    (tmp_path / "fed").mkdir()
    result = subprocess.run(
        ["docker", "compose", "-f", str(copy / "compose.yaml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def _settings_file(compose: dict[str, Any], name: str) -> Path | None:
    for mount in services(compose)[name].get("configs", []):
        if mount["target"].endswith(".toml") and not mount["target"].endswith("sla.toml"):
            return DEPLOY / str(compose["configs"][mount["source"]]["file"])
    return None


def _settings_text(compose: dict[str, Any], name: str) -> str:
    path = _settings_file(compose, name)
    return "" if path is None else path.read_text()


def settings_of(compose: dict[str, Any], name: str) -> Any:
    """The service's settings file, read by the process's own loader."""
    path = _settings_file(compose, name)
    assert path is not None, name
    tomllib.loads(path.read_text())
    loader = {
        "gateway": load_gateway_settings,
        "tracker": load_tracker_settings,
        "notifier": load_notifier_settings,
    }[name.split("-")[0]]
    return loader(path)
