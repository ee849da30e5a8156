"""The roster over HTTP on the real servers: validation, reads, loads kept, status changes told."""

from __future__ import annotations

import pytest

from helpdesk_router.settings import Settings
from tests.integration.router.helpers import agent, put_agent, running_router
from tests.support.kafka import EventTap

pytestmark = pytest.mark.integration

HOURS = {"timezone": "Europe/Paris", "weekly": {"mon": [["13:00", "17:00"], ["09:00", "12:00"]]}}


async def test_agents_are_created_replaced_read_and_their_status_changes_told(
    settings: Settings, agents_topic: EventTap
) -> None:
    async with running_router(settings) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok"}

        created = await put_agent(
            client,
            "grace.h",
            agent("grace", capacity=2, skills=["Billing", "Refunds", "billing"], teams=["Tier 2"], working_hours=HOURS),
            expected=201,
        )
        assert created == {
            "agent_id": "grace.h",
            "name": "Grace",
            "email": "grace@example.com",
            "slack_user_id": "UGRACE",
            "channel_capacity": {},
            "skills": ["billing", "refunds"],
            "capacity": 2,
            "status": "online",
            "teams": ["tier-2"],
            "working_hours": {"timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}},
            "load": 0,
            "channel_loads": {},
        }
        await put_agent(client, "alan", agent("alan", capacity=1, status="offline"), expected=201)

        replaced = await put_agent(client, "grace.h", agent("grace", capacity=4, status="away"), expected=200)
        assert (replaced["capacity"], replaced["status"], replaced["teams"], replaced["working_hours"]) == (
            4,
            "away",
            [],
            None,
        )
        assert (await client.get("/v1/agents/grace.h")).json() == replaced
        listed = (await client.get("/v1/agents")).json()
        assert [a["agent_id"] for a in listed] == ["alan", "grace.h"]

        missing = await client.get("/v1/agents/nobody")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "no agent 'nobody' on the roster"}

        grace_changes = []
        for to_status in ("online", "away"):
            envelope = await agents_topic.wait_for(
                "agent.status_changed",
                lambda e, s=to_status: e.payload.agent_id == "grace.h" and e.payload.to_status == s,
            )
            grace_changes.append((envelope.key, envelope.payload.from_status, envelope.payload.to_status))
        assert grace_changes == [("grace.h", None, "online"), ("grace.h", "online", "away")]
