"""Keeping the roster: save an agent, tell its status changes, offer it queued tickets."""

from __future__ import annotations

import logging

from helpdesk_events import AgentStatus
from helpdesk_router.assignment import status_announcement
from helpdesk_router.desk import AssignmentDesk, Clock, utc_now
from helpdesk_router.ports import EventSink, Roster
from helpdesk_router.roster import Agent, AgentProfile

log = logging.getLogger(__name__)


class RosterService:
    def __init__(self, *, roster: Roster, events: EventSink, desk: AssignmentDesk, clock: Clock = utc_now) -> None:
        self._roster = roster
        self._events = events
        self._desk = desk
        self._clock = clock

    async def agents(self) -> list[Agent]:
        return await self._roster.agents()

    async def agent(self, agent_id: str) -> Agent | None:
        return await self._roster.agent(agent_id)

    async def put(self, agent_id: str, profile: AgentProfile) -> tuple[Agent, bool]:
        """Save the agent (True when created); then tell its status change and either offer it
        queued tickets (online) or take back the tickets it has not accepted (away, offline).

        The roster is the truth once saved: if Kafka or the queue fail afterwards the agent is
        still saved, and the sweep (or the next start) tells and offers what is left.
        """
        agent, created = await self._roster.save(agent_id, profile, self._clock())
        try:
            await self._announce_status(agent)
            if agent.status is not AgentStatus.ONLINE:
                await self._desk.agent_unavailable(agent_id)  # hands back what they have not accepted
            elif agent.has_free_capacity:
                await self._desk.offer_queue()
        except Exception:
            log.exception("agent %s saved; its status or the queue will be handled by the sweep", agent_id)
        return (await self._roster.agent(agent_id)) or agent, created

    async def announce_pending(self) -> None:
        """Tell every status change not yet told (a publish that failed, a crash before it)."""
        for agent in await self._roster.agents():
            await self._announce_status(agent)

    async def _announce_status(self, agent: Agent) -> None:
        change = agent.unannounced_status_change()
        if change is None:
            return
        if not change.is_noop:
            payload, event_id = status_announcement(change)
            await self._events.emit(payload, event_id=event_id)
        await self._roster.mark_status_announced(change)
