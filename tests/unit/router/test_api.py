"""The roster API refuses invalid requests before touching any server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from helpdesk_router.bootstrap import create_app
from helpdesk_router.rule_file import RuleFileError
from helpdesk_router.settings import Settings

BODY: dict[str, Any] = {"name": "Grace", "email": "grace@example.com", "skills": [], "capacity": 1, "status": "online"}


@pytest.mark.parametrize(
    ("agent_id", "changes", "complaint"),
    [
        ("grace", {"email": "grace-at-example"}, "email"),
        ("grace", {"capacity": -1}, "capacity"),
        ("grace", {"status": "sleeping"}, "status"),
        ("grace", {"skills": None}, "skills"),
        ("grace", {"working_hours": {"timezone": "Atlantis/Capital", "weekly": {}}}, "unknown IANA timezone"),
        ("grace", {"working_hours": {"timezone": "UTC", "weekly": {"fri": [["22:00", "06:00"]]}}}, "start before"),
        ("grace hopper", {}, "agent_id"),
        ("x" * 65, {}, "agent_id"),
    ],
)
async def test_invalid_agents_are_refused_with_the_reason(agent_id: str, changes: dict[str, Any], complaint: str) -> None:
    # No lifespan: nothing is started, and a refused request must not need Kafka or MongoDB.
    app = create_app(Settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        response = await client.put(f"/v1/agents/{agent_id}", json={**BODY, **changes})
    assert response.status_code == 422
    assert complaint in response.text


def test_the_api_has_stable_operation_ids() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    operations = {(path, method): spec["operationId"] for path, methods in paths.items() for method, spec in methods.items()}
    assert operations == {
        ("/v1/agents/{agent_id}", "put"): "put_agent",
        ("/v1/agents/{agent_id}", "get"): "get_agent",
        ("/v1/agents", "get"): "list_agents",
        ("/v1/rules", "get"): "get_rules",
        ("/v1/rules", "put"): "put_rules",
        ("/v1/queue", "get"): "get_queue",
        ("/healthz", "get"): "healthz",
        ("/readyz", "get"): "readyz",
        ("/metrics", "get"): "metrics",
    }


async def test_a_bad_rule_set_is_refused_before_touching_any_server() -> None:
    app = create_app(Settings())
    bad = {"rules": [{"name": "ok"}, {"name": "vip", "then": {"priority": "critical"}}, {"name": "x", "oops": 1}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as client:
        response = await client.put("/v1/rules", json=bad)
        bad_yaml = await client.put("/v1/rules", content=b"rules: [", headers={"Content-Type": "application/yaml"})
        bad_json = await client.put("/v1/rules", content=b"{", headers={"Content-Type": "application/json"})
        plain = await client.put("/v1/rules", content=b"rules: []", headers={"Content-Type": "text/plain"})
    assert response.status_code == 422
    problems = response.json()["detail"]["problems"]
    assert [(p["rule_index"], p["rule_name"], p["field"]) for p in problems] == [
        (1, "vip", "then.priority"),
        (2, "x", "oops"),
    ]
    assert "rule 1 ('vip'): then.priority" in response.json()["detail"]["message"]
    assert (bad_yaml.status_code, bad_json.status_code, plain.status_code) == (422, 422, 415)
    assert "not valid YAML" in bad_yaml.text and "not valid JSON" in bad_json.text


def test_a_bad_rules_file_stops_the_router_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: vip\n    then: {team: 'No Such!'}\n")
    with pytest.raises(RuleFileError, match=r"rule 0 \('vip'\): then\.team"):
        create_app(Settings(router_rules_file=path))
