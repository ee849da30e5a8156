"""Running the router in-process and talking to it as the other services would."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from helpdesk_events import (
    Channel,
    Envelope,
    Priority,
    Requester,
    TicketCreated,
    TicketStatus,
    TicketStatusChanged,
    Topic,
    TopicNames,
)
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.bootstrap import create_app
from helpdesk_router.settings import Settings
from tests.support.apps import running_app
from tests.support.kafka import EventTap


def running_router(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return running_app(create_app(settings), base_url="http://router", startup_timeout=30)


def agent(name: str, capacity: int, status: str = "online", **extra: Any) -> dict[str, Any]:
    return {
        "name": name.title(),
        "email": f"{name}@example.com",
        "slack_user_id": f"U{name.upper()}",
        "skills": ["billing"],
        "capacity": capacity,
        "status": status,
        **extra,
    }


async def put_agent(client: httpx.AsyncClient, agent_id: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
    response = await client.put(f"/v1/agents/{agent_id}", json=body)
    assert response.status_code == expected, response.text
    return response.json()


async def loads(client: httpx.AsyncClient) -> dict[str, int]:
    response = await client.get("/v1/agents")
    assert response.status_code == 200, response.text
    return {agent["agent_id"]: agent["load"] for agent in response.json()}


async def new_ticket(
    intake: EventPublisher,
    ticket_id: str,
    priority: Priority = Priority.NORMAL,
    body: str = "Please.",
    channel: Channel = Channel.WEB,
) -> Envelope:
    payload = TicketCreated(
        subject=f"Help with {ticket_id}",
        body=body,
        requester=Requester(email="customer@example.com"),
        channel=channel,
        message_id=f"{ticket_id}-m1",
        priority=priority,
    )
    return await intake.emit(payload, ticket_id=ticket_id)


async def solve(intake: EventPublisher, ticket_id: str) -> None:
    payload = TicketStatusChanged(from_status=TicketStatus.OPEN, to_status=TicketStatus.SOLVED, changed_by="agent")
    await intake.emit(payload, ticket_id=ticket_id)


async def assigned(tap: EventTap, ticket_id: str, timeout: float = 15.0) -> str:
    """The agent the router gave the ticket to."""
    envelope = await tap.wait_for("ticket.assigned", lambda e: e.ticket_id == ticket_id, timeout)
    return envelope.payload.agent_id


async def eventually(check: Callable[[], bool | Awaitable[bool]], timeout: float = 15.0, every: float = 0.1) -> None:
    """Poll until `check` holds: for state the router reaches asynchronously (loads, counters)."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(every)


async def loads_become(client: httpx.AsyncClient, expected: dict[str, int]) -> None:
    async def reached() -> bool:
        return await loads(client) == expected

    await eventually(reached)


async def tickets_created_handled(client: httpx.AsyncClient, settings: Settings, count: int) -> None:
    """Wait until this router has handled `count` ticket.created records (its /metrics)."""
    topic = TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)

    async def reached() -> bool:
        metrics = (await client.get("/metrics")).text
        handled = sum(
            sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == "helpdesk_events_consumed_total"
            and sample.labels.get("service") == "router"
            and sample.labels.get("topic") == topic
            and sample.labels.get("type") == "ticket.created"
            and sample.labels.get("outcome") == "handled"
        )
        return handled >= count

    await eventually(reached)
