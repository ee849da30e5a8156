"""docker-compose.yml and deploy/k8s agree with the services; checked without Docker or a cluster.

The services are the directories services/*/ with a pyproject.toml; the port each one listens on is the
default of `helpdesk_<name>.settings.Settings.http_port`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy" / "k8s"
K8S_BASE = K8S_DIR / "base"

SERVICES = sorted(path.parent.name for path in ROOT.glob("services/*/pyproject.toml"))


def default_port(service: str) -> int:
    settings = importlib.import_module(f"helpdesk_{service}.settings")
    return settings.Settings.model_fields["http_port"].default


# ---------------------------------------------------------------- docker-compose.yml


@pytest.fixture(scope="module")
def compose_services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())["services"]


def published_ports(service: dict[str, Any]) -> set[int]:
    """Host ports of a compose service, short ("8001:8001") or long ({published: 8001}) syntax."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["published"]))
        else:
            parts = str(entry).split("/")[0].split(":")  # [[ip:]host:]container[/proto]
            if len(parts) >= 2:
                ports.add(int(parts[-2]))
    return ports


def test_services_are_found() -> None:
    assert SERVICES, "no services/*/pyproject.toml found"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_builds_and_checks_each_service(compose_services: dict[str, Any], name: str) -> None:
    assert name in compose_services, f"docker-compose.yml has no service {name!r}"
    service = compose_services[name]
    assert service["build"]["args"]["SERVICE"] == name
    check = service.get("healthcheck", {}).get("test")
    assert check, f"{name} has no healthcheck"
    assert "/readyz" in (check if isinstance(check, str) else " ".join(check))
    for dependency, condition in service.get("depends_on", {}).items():
        assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"


@pytest.mark.parametrize("name", SERVICES)
def test_compose_port_is_the_settings_default(compose_services: dict[str, Any], name: str) -> None:
    port = default_port(name)
    service = compose_services[name]
    assert str(service["environment"]["HTTP_PORT"]) == str(port)
    assert port in published_ports(service)


def test_compose_dependencies_have_healthchecks(compose_services: dict[str, Any]) -> None:
    for name, service in compose_services.items():
        for dependency in service.get("depends_on", {}):
            assert "healthcheck" in compose_services[dependency], (
                f"{name} waits on {dependency} (no healthcheck)"
            )


# ---------------------------------------------------------------- deploy/k8s


@pytest.fixture(scope="module")
def k8s_objects() -> list[dict[str, Any]]:
    objects = []
    for path in sorted([*K8S_BASE.rglob("*.yaml"), *K8S_BASE.rglob("*.yml")]):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj.get("kind") == kind}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return deployment["spec"]["template"]["spec"]["containers"]


def env_value(container: dict[str, Any], name: str) -> str | None:
    return next((var.get("value") for var in container.get("env", []) if var["name"] == name), None)


def deployment_of(objects: list[dict[str, Any]], service: str) -> dict[str, Any]:
    """The Deployment whose container runs `service` (env SERVICE selects it in the one image)."""
    matches = [
        deployment
        for deployment in of_kind(objects, "Deployment").values()
        if any(env_value(c, "SERVICE") == service for c in containers(deployment))
    ]
    assert len(matches) == 1, f"expected one Deployment with SERVICE={service}, found {len(matches)}"
    return matches[0]


def container_port(container: dict[str, Any], port: int | str) -> int:
    """A port as a number, resolving a named one through the container's ports."""
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


def service_target_port(objects: list[dict[str, Any]], deployment: dict[str, Any]) -> int | str:
    services = of_kind(objects, "Service")
    name = deployment["metadata"]["name"]
    assert name in services, f"no Service named like the Deployment {name!r}"
    service = services[name]
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items(), f"Service {name} selects no pod of it"
    (port,) = service["spec"]["ports"]
    return port.get("targetPort", port["port"])


def probed_port(container: dict[str, Any], probe: str, path: str) -> int:
    http_get = container[probe]["httpGet"]
    assert http_get["path"] == path, f"{probe} of {container['name']}"
    return container_port(container, http_get["port"])


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_probes_and_service_agree(k8s_objects: list[dict[str, Any]], name: str) -> None:
    deployment = deployment_of(k8s_objects, name)
    (container,) = containers(deployment)
    readiness = probed_port(container, "readinessProbe", "/readyz")
    liveness = probed_port(container, "livenessProbe", "/healthz")
    target = container_port(container, service_target_port(k8s_objects, deployment))
    assert readiness == liveness == target
    assert env_value(container, "HTTP_PORT") == str(target)


@pytest.mark.parametrize("name", SERVICES)
def test_deployment_port_is_the_settings_default(k8s_objects: list[dict[str, Any]], name: str) -> None:
    port = default_port(name)
    (container,) = containers(deployment_of(k8s_objects, name))
    assert probed_port(container, "readinessProbe", "/readyz") == port


def test_deployments_run_non_root_on_a_read_only_filesystem(k8s_objects: list[dict[str, Any]]) -> None:
    deployments = of_kind(k8s_objects, "Deployment")
    assert deployments
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            where = f"{name}/{container['name']}"
            assert context.get("runAsNonRoot") is True, where
            assert context.get("readOnlyRootFilesystem") is True, where
            assert context.get("allowPrivilegeEscalation") is False, where
            assert "ALL" in context.get("capabilities", {}).get("drop", []), where
            assert "resources" in container and {"requests", "limits"} <= container["resources"].keys(), where


KUSTOMIZATIONS = sorted(K8S_DIR.rglob("kustomization.yaml"))


def listed_files(kustomization: dict[str, Any]) -> list[str]:
    """Every local path a kustomization refers to (resources, components, patches, generators)."""
    paths = list(kustomization.get("resources", [])) + list(kustomization.get("components", []))
    paths += [patch["path"] for patch in kustomization.get("patches", []) if "path" in patch]
    paths += list(kustomization.get("patchesStrategicMerge", []))
    for generator in kustomization.get("configMapGenerator", []) + kustomization.get("secretGenerator", []):
        paths += [entry.split("=", 1)[-1] for entry in generator.get("files", [])]
        paths += list(generator.get("envs", []))
    return paths


def test_kustomizations_are_found() -> None:
    assert K8S_BASE / "kustomization.yaml" in KUSTOMIZATIONS


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=lambda p: str(p.parent.relative_to(K8S_DIR)))
def test_kustomization_lists_only_existing_files(path: Path) -> None:
    kustomization = yaml.safe_load(path.read_text())
    missing = [entry for entry in listed_files(kustomization) if not (path.parent / entry).exists()]
    assert not missing, f"{path.relative_to(ROOT)} lists missing {missing}"


def test_base_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())["resources"])
    on_disk = {path.name for path in K8S_BASE.glob("*.yaml")} - {"kustomization.yaml"}
    assert on_disk == listed
