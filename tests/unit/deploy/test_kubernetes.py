"""deploy/kubernetes/: every document parsed; the RabbitmqCluster (3 replicas, TLS from
Secrets, quorum queues), the tracker (2 replicas, PostgreSQL by URL from a Secret), the
notifier and a gateway per agency kind checked for images, probes, resource limits, a
user that is not root, secrets referred to rather than written out; the settings each
ConfigMap holds loaded by the process's own loader."""

import re
import tempfile
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
from broker.notifier.config import load_notifier_settings
from broker.tracker.config import load_tracker_settings
from tests.unit.deploy.manifests import DEPLOY, SECRET_NAME, literal_secrets

FOLDER = DEPLOY / "kubernetes"
WORKLOADS = ("Deployment", "StatefulSet")
KINDS = {"health", "education", "police", "social"}
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def documents() -> list[Doc]:
    found: list[Doc] = []
    for path in sorted(FOLDER.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def of_kind(documents: list[Doc], *kinds: str) -> list[Doc]:
    return [doc for doc in documents if doc["kind"] in kinds]


def named(documents: list[Doc], kind: str, name: str) -> Doc:
    [found] = [
        doc
        for doc in documents
        if doc["kind"] == kind and doc.get("metadata", {}).get("name") == name
    ]
    return found


def containers(workload: Doc) -> list[Doc]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(workload: Doc) -> Doc:
    container: Doc = workload["spec"]["template"]["spec"]["containers"][0]
    return container


def test_kustomize_lists_every_manifest(documents: list[Doc]) -> None:
    [kustomization] = of_kind(documents, "Kustomization")
    files = {p.name for p in FOLDER.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [image["name"] for image in kustomization["images"]] == ["caselink"]


def test_the_rabbitmq_cluster_has_three_nodes_tls_and_quorum_queues(documents: list[Doc]) -> None:
    [cluster] = of_kind(documents, "RabbitmqCluster")
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    spec = cluster["spec"]
    assert spec["replicas"] == 3
    assert spec["image"].startswith("rabbitmq:3.")
    assert spec["tls"] == {
        "secretName": "caselink-rabbitmq-tls",
        "caSecretName": "caselink-rabbitmq-ca",
        "disableNonTLSListeners": True,
    }
    config = spec["rabbitmq"]["additionalConfig"]
    for line in (
        "default_queue_type = quorum",
        "quorum_queue.initial_cluster_size = 3",
        "cluster_partition_handling = pause_minority",
        "ssl_options.verify = verify_peer",
        "ssl_options.fail_if_no_peer_cert = true",
        "load_definitions = /etc/rabbitmq/definitions/definitions.json",
    ):
        assert re.search(rf"^\s*{re.escape(line)}$", config, re.M), line
    assert set(spec["resources"]["limits"]) == {"cpu", "memory"}
    assert spec["persistence"]["storage"]
    # The definitions come from a Secret, mounted where load_definitions looks.
    pod = spec["override"]["statefulSet"]["spec"]["template"]["spec"]
    [mount] = pod["containers"][0]["volumeMounts"]
    [volume] = pod["volumes"]
    assert mount["mountPath"] == "/etc/rabbitmq/definitions"
    assert volume["secret"]["secretName"] == "caselink-rabbitmq-definitions"


def test_workloads_run_the_caselink_image_as_a_user_within_limits(documents: list[Doc]) -> None:
    workloads = of_kind(documents, *WORKLOADS)
    assert len(workloads) == 2 + len(KINDS)  # tracker, notifier, a gateway per kind
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["automountServiceAccountToken"] is False
        for container in containers(workload):
            assert container["image"] == "caselink"  # set by kustomize's images
            for resource in ("cpu", "memory"):
                assert container["resources"]["requests"][resource], container["name"]
                assert container["resources"]["limits"][resource], container["name"]
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False
            assert security["readOnlyRootFilesystem"] is True
            assert security["capabilities"]["drop"] == ["ALL"]
        process = main_container(workload)["args"][0]
        assert process in {"gateway", "tracker", "notifier"}
        assert main_container(workload)["args"][1:] == ["--config", f"/etc/caselink/{process}.toml"]


def test_the_tracker_runs_twice_on_postgresql_from_a_secret(documents: list[Doc]) -> None:
    tracker = _workload(documents, "tracker")
    assert tracker["kind"] == "Deployment"
    assert tracker["spec"]["replicas"] == 2  # the tap's single active consumer: one standby
    env = {e["name"]: e for e in main_container(tracker)["env"]}
    assert env["CASELINK_TRACKER_STORE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "caselink-tracker",
        "key": "store-url",
    }
    settings = _settings(documents, tracker)
    assert settings.store_url.startswith("postgresql+asyncpg://")
    [budget] = of_kind(documents, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1


def test_the_tracker_and_gateways_are_probed_on_healthz(documents: list[Doc]) -> None:
    for workload in of_kind(documents, *WORKLOADS):
        container = main_container(workload)
        if container["args"][0] == "notifier":
            continue  # it serves no HTTP
        [port] = container["ports"]
        settings = _settings(documents, workload)
        listen = getattr(settings, "api_listen", None) or settings.listen
        assert listen == f"0.0.0.0:{port['containerPort']}"
        for probe in ("readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"] == {"path": "/healthz", "port": port["name"]}
        # Liveness tolerates a broker outage (503) for minutes; readiness reacts at once.
        live, ready = container["livenessProbe"], container["readinessProbe"]
        assert live["periodSeconds"] * live["failureThreshold"] >= 300
        assert ready["periodSeconds"] * ready["failureThreshold"] <= 60


def test_a_gateway_per_agency_kind_with_its_store_on_its_own_volume(documents: list[Doc]) -> None:
    gateways = [w for w in of_kind(documents, *WORKLOADS) if _process(w) == "gateway"]
    kinds = set()
    for gateway in gateways:
        assert gateway["kind"] == "StatefulSet"
        assert gateway["spec"]["replicas"] == 1
        [claim] = gateway["spec"]["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in main_container(gateway)["volumeMounts"]}
        settings = _settings(documents, gateway)
        assert isinstance(settings, GatewaySettings)
        assert settings.store_url.startswith(
            f"sqlite+aiosqlite:///{mounts[claim['metadata']['name']]}/"
        )
        [kind] = settings.adapters
        kinds.add(kind)
        _check_adapter(kind, settings.adapters[kind])
        service = named(documents, "Service", gateway["metadata"]["name"])
        assert service["spec"]["selector"] == gateway["spec"]["selector"]["matchLabels"]
    assert kinds == KINDS


def test_secrets_are_referred_to_and_never_written_out(documents: list[Doc]) -> None:
    assert of_kind(documents, "Secret") == []
    for path in FOLDER.glob("*.yaml"):
        assert literal_secrets(path.read_text()) == [], path.name
    for workload in of_kind(documents, *WORKLOADS):
        for container in containers(workload):
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "value" not in variable, variable["name"]
                    assert variable["valueFrom"]["secretKeyRef"]["name"]
        # Every file under /run/secrets the settings name comes from the pod's Secret,
        # copied private by the init container.
        text = _settings_text(documents, workload)
        if "/run/secrets/" in text:
            volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
            assert volumes["secrets-in"]["secret"]["secretName"]
            [init] = workload["spec"]["template"]["spec"]["initContainers"]
            assert "umask 077" in init["command"][-1]


def test_network_policies_deny_by_default_and_open_rabbitmq_to_caselink(
    documents: list[Doc],
) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(documents, "NetworkPolicy")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    amqp = policies["rabbitmq"]["ingress"][0]
    assert amqp["ports"] == [{"port": 5671}]
    assert amqp["from"][0]["podSelector"]["matchLabels"] == {
        "app.kubernetes.io/part-of": "caselink"
    }


def _process(workload: Doc) -> str:
    process: str = main_container(workload)["args"][0]
    return process


def _workload(documents: list[Doc], process: str) -> Doc:
    [found] = [w for w in of_kind(documents, *WORKLOADS) if _process(w) == process]
    return found


def _settings_text(documents: list[Doc], workload: Doc) -> str:
    """The settings file the workload mounts, from its ConfigMap."""
    volumes = workload["spec"]["template"]["spec"]["volumes"]
    [config_map] = [v["configMap"]["name"] for v in volumes if v["name"] == "settings"]
    text: str = named(documents, "ConfigMap", config_map)["data"][f"{_process(workload)}.toml"]
    return text


def _settings(documents: list[Doc], workload: Doc) -> Any:
    """The ConfigMap's settings, read by the process's own loader from a file."""
    process = _process(workload)
    loader = {
        "gateway": load_gateway_settings,
        "tracker": load_tracker_settings,
        "notifier": load_notifier_settings,
    }[process]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{process}.toml"
        path.write_text(_settings_text(documents, workload))
        return loader(path)


def _check_adapter(kind: str, table: dict[str, Any]) -> None:
    if kind == "health":
        health_settings(table)
    elif kind == "education":
        education_settings(table, Path("/"))
    elif kind == "police":
        police_settings(table, Path("/"))
    else:
        social_settings(table)
