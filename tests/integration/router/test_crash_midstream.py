"""A router process killed with SIGKILL in the middle of a stream of tickets, then started again.

A crash (an OOM kill, a node lost) can land between any two of the desk's steps: a slot reserved
but the ticket not claimed, a ticket claimed but not told, told but not marked told, offsets not
committed. Whatever the moment, once a new process has caught up each ticket must have exactly one
agent, and the roster's loads must count each agent's open tickets and never pass their capacity.

The router runs as a real process (`python -m helpdesk_router`), so the kill is a real SIGKILL and
the second process starts from what Kafka and MongoDB kept, not from anything in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devtools.platform import ServiceProcess
from devtools.servers import free_port
from helpdesk_events import EventDecodeError, decode
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.integration.router.helpers import agent, new_ticket, solve
from tests.support.kafka import EventTap
from tests.support.waiting import until

pytestmark = pytest.mark.integration

TICKETS = 200
# Long enough for a second process to join the group, replay and catch up (or drain a queue);
# a router that never gets there fails here with its logs named, instead of hanging the suite.
CATCH_UP_SECONDS = 60.0
FIRST_ASSIGNMENTS_SECONDS = 20.0


def router_environment(settings: Settings) -> dict[str, str]:
    """The test's settings under the environment names the service reads (pydantic-settings: upper case).

    Every field goes, so the process sees what the in-process tests see (topic prefix, database,
    consumer group, the short session timeout and fetch wait the embedded broker needs).
    The HTTP address is ServiceProcess's to choose.
    """
    values = settings.model_dump(exclude={"http_host", "http_port"}, exclude_none=True)
    return {name.upper(): str(value) for name, value in values.items()}


@asynccontextmanager
async def router_process(
    settings: Settings, log_dir: Path
) -> AsyncIterator[tuple[ServiceProcess, httpx.AsyncClient]]:
    """A router process on the test's settings, ready (/readyz), and an HTTP client on it; stopped at the end."""
    process = ServiceProcess("router", free_port(), router_environment(settings), log_dir)
    try:
        # start() polls /readyz with sleeps: in a thread, so the tap and the publisher keep running.
        await asyncio.to_thread(process.start)
        async with httpx.AsyncClient(base_url=process.url, timeout=10) as client:
            yield process, client
    finally:
        await asyncio.to_thread(process.stop)  # nothing to do once killed


@dataclass(frozen=True)
class Told:
    """One ticket.assigned as the tap read it, with when the router produced it (the record's timestamp)."""

    event_id: str
    ticket_id: str
    agent_id: str
    produced_ms: int


def assignments_told(tap: EventTap) -> list[Told]:
    """Every distinct ticket.assigned on the topic: a replay re-sends the same event id, counted once."""
    seen: dict[str, Told] = {}
    for record in list(tap.records):
        try:
            envelope = decode(record.value)
        except EventDecodeError:
            continue
        if envelope.type != "ticket.assigned" or str(envelope.id) in seen:
            continue
        seen[str(envelope.id)] = Told(
            str(envelope.id), envelope.ticket_id, envelope.payload.agent_id, record.timestamp
        )
    return list(seen.values())


def tickets_told(tap: EventTap) -> set[str]:
    return {told.ticket_id for told in assignments_told(tap)}


def agents_per_ticket(tap: EventTap, logs: str) -> dict[str, set[str]]:
    """The agents each ticket was told it went to, failing at once when a ticket has more than one."""
    agents_of: dict[str, set[str]] = {}
    for told in assignments_told(tap):
        agents_of.setdefault(told.ticket_id, set()).add(told.agent_id)
    more_than_one = {ticket_id: agents for ticket_id, agents in agents_of.items() if len(agents) != 1}
    assert not more_than_one, f"tickets given to several agents: {more_than_one}; router logs: {logs}"
    return agents_of


async def roster_loads(client: httpx.AsyncClient) -> dict[str, int]:
    response = await client.get("/v1/agents")
    assert response.status_code == 200, response.text
    return {entry["agent_id"]: entry["load"] for entry in response.json()}


def within_capacity(loads: dict[str, int], capacities: dict[str, int]) -> None:
    """Checked on every poll after the restart, not only at the end: a slot taken twice shows while it lasts."""
    over = {
        agent_id: (load, capacities[agent_id])
        for agent_id, load in loads.items()
        if load > capacities[agent_id]
    }
    assert not over, f"agents over capacity (load, capacity): {over}"


async def crash_midstream(
    settings: Settings,
    intake: EventPublisher,
    tickets: EventTap,
    log_root: Path,
    capacities: dict[str, int],
    kill_after: int,
) -> None:
    """Publish TICKETS tickets, SIGKILL the router once the tap has seen `kill_after` of them assigned,
    start a new one, solve what is assigned until every ticket had its agent (when capacity is short),
    then check the assignments and the loads."""
    ticket_ids = [f"T{number:03d}" for number in range(TICKETS)]
    enough_capacity = sum(capacities.values()) >= TICKETS
    before_dir, after_dir = log_root / "before-crash", log_root / "after-crash"
    logs = f"{before_dir / 'router.log'} and {after_dir / 'router.log'}"

    async def publish_tickets() -> None:
        for ticket_id in ticket_ids:
            await new_ticket(intake, ticket_id)

    async with router_process(settings, before_dir) as (first, client):
        for agent_id, capacity in capacities.items():
            response = await client.put(f"/v1/agents/{agent_id}", json=agent(agent_id, capacity=capacity))
            assert response.status_code == 201, response.text
        intake_running = asyncio.create_task(publish_tickets())  # intake does not stop when the router dies
        try:
            await until(
                lambda: len(tickets_told(tickets)) >= kill_after,
                FIRST_ASSIGNMENTS_SECONDS,
                "first assignments",
                logs,
            )
            first.kill()
            # The first process is gone: whatever it produced carries an earlier timestamp than this.
            killed_at_ms = time.time() * 1000
        finally:
            await intake_running

    solved: set[str] = set()
    async with router_process(settings, after_dir) as (_, client):

        async def every_ticket_told() -> bool:
            told = agents_per_ticket(tickets, logs)
            within_capacity(await roster_loads(client), capacities)
            if set(told) >= set(ticket_ids):
                return True
            if not enough_capacity:  # free the capacity the queue waits for, as agents solving tickets would
                for ticket_id in sorted(set(told) - solved):
                    await solve(intake, ticket_id)
                    solved.add(ticket_id)
            return False

        await until(every_ticket_told, CATCH_UP_SECONDS, f"an agent for each of the {TICKETS} tickets", logs)

        agents_of = agents_per_ticket(tickets, logs)
        assert set(agents_of) == set(ticket_ids)
        told = assignments_told(tickets)

        first_told_ms = {
            ticket_id: min(each.produced_ms for each in told if each.ticket_id == ticket_id)
            for ticket_id in agents_of
        }
        before = [ticket_id for ticket_id, at in first_told_ms.items() if at < killed_at_ms]
        after = [ticket_id for ticket_id, at in first_told_ms.items() if at > killed_at_ms]
        assert before, "no ticket was assigned before the kill"
        assert after, f"the kill came too late: all {len(before)} tickets were assigned before it"

        if not enough_capacity:
            queued = {e.ticket_id for e in tickets.envelopes if e.type == "ticket.queued"}
            assert queued, "capacity was short, yet no ticket waited in the queue"

        # The loads count the open tickets: those told and not solved, per agent.
        open_per_agent = Counter(
            next(iter(agents_of[ticket_id])) for ticket_id in ticket_ids if ticket_id not in solved
        )
        expected = {agent_id: open_per_agent.get(agent_id, 0) for agent_id in capacities}
        last_seen: dict[str, int] = {}

        async def loads_count_open_tickets() -> bool:
            last_seen.update(await roster_loads(client))
            return last_seen == expected

        await until(
            loads_count_open_tickets,
            15,
            lambda: f"loads {last_seen} equal to the open tickets {expected}",
            logs,
        )
        within_capacity(last_seen, capacities)


async def test_a_router_killed_midstream_leaves_each_ticket_one_agent(
    settings: Settings, intake: EventPublisher, tickets: EventTap, tmp_path: Path
) -> None:
    await crash_midstream(
        settings,
        intake,
        tickets,
        tmp_path,
        capacities={"ada": 80, "bob": 70, "cyd": 60},
        kill_after=TICKETS // 4,
    )


async def test_a_router_killed_midstream_with_a_queue_drains_it_to_one_agent_each(
    settings: Settings, intake: EventPublisher, tickets: EventTap, tmp_path: Path
) -> None:
    """Capacity for half the tickets: the rest queue, and solves after the restart let them through."""
    await crash_midstream(
        settings, intake, tickets, tmp_path, capacities={"ada": 40, "bob": 35, "cyd": 25}, kill_after=25
    )
