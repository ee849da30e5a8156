"""docker-compose.yml agrees with the services; checked without Docker (deploy/k8s: test_k8s_manifests.py).

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
