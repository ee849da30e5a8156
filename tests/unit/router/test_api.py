"""The roster API refuses invalid requests before touching any server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from helpdesk_router.bootstrap import create_app
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
        ("/healthz", "get"): "healthz",
        ("/readyz", "get"): "readyz",
        ("/metrics", "get"): "metrics",
    }
