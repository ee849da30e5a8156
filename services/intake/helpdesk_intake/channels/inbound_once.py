"""One decision per channel message, whatever the channel: the duplicate-proof path to Kafka.

duplicate check -> Redis guard -> thread -> decide (durably, in `inbound_messages`) -> publish
(acks=all, through `TicketIntake.record`) -> let the channel remember its thread -> mark published.
A channel supplies the message's key, how it threads and what events a decision becomes; a caller
may report success only when `receive` returns, since by then Kafka holds every event.
TicketNotRecorded means try again later (HTTP 503, SMTP 451).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from helpdesk_intake.channels.inbound_events import PlannedEvent, decide
from helpdesk_intake.channels.inbound_guard import InboundGuard
from helpdesk_intake.channels.inbound_messages import InboundDecision, InboundMessages
from helpdesk_intake.intake import TicketIntake, TicketNotRecorded
from helpdesk_intake.ticket_view import TicketView

_FIRST_DELIVERY_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class InboundOutcome:
    outcome: Literal["created", "appended", "duplicate", "ignored"]
    ticket_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class InboundPlan:
    """A channel's part: the message's stable key, the ticket it continues, the events it becomes."""

    key: str
    message_id: str
    threaded_ticket: Callable[[], Awaitable[TicketView | None]]
    events: Callable[[InboundDecision], list[PlannedEvent]]
    # Called after Kafka acknowledged, before the message counts as done: thread memory.
    remember: Callable[[InboundDecision], Awaitable[None]] | None = None


class InboundOnce:
    def __init__(
        self,
        *,
        intake: TicketIntake,
        inbound: InboundMessages,
        guard: InboundGuard,
        wait_for_first_seconds: float,
    ) -> None:
        self._intake = intake
        self._inbound = inbound
        self._guard = guard
        self._wait_for_first = wait_for_first_seconds

    async def receive(self, plan: InboundPlan) -> InboundOutcome:
        key = plan.key
        earlier = await self._inbound.find(key)
        if earlier is not None and earlier.published:
            return InboundOutcome("duplicate", earlier.ticket_id)
        if not await self._guard.acquire(key):
            first = await self._wait_for_first_delivery(key)
            if first is not None:
                return first
        try:
            # Read again under the guard: a delivery that finished meanwhile decided already.
            decision = await self._inbound.find(key) or await self._decide(plan)
            if decision.published:
                return InboundOutcome("duplicate", decision.ticket_id)
            for planned in plan.events(decision):
                await self._intake.record(
                    planned.payload, ticket_id=decision.ticket_id, event_id=planned.event_id
                )
            if plan.remember is not None:
                await plan.remember(decision)
            await self._inbound.mark_published(key)
        finally:
            await self._guard.release(key)
        return InboundOutcome(decision.outcome, decision.ticket_id)

    async def _decide(self, plan: InboundPlan) -> InboundDecision:
        ticket = await plan.threaded_ticket()
        decision = decide(
            plan.key,
            threaded_ticket=ticket.ticket_id if ticket else None,
            status=ticket.status if ticket else None,
            new_ticket_id=str(uuid.uuid4()),
        )
        event_ids = [str(planned.event_id) for planned in plan.events(decision)]
        return await self._inbound.decide(decision, event_ids=event_ids, message_id=plan.message_id)

    async def _wait_for_first_delivery(self, key: str) -> InboundOutcome | None:
        """Another delivery of this message is in progress: its answer is ours once it has one; None
        when it gave up (Kafka refused it) and this delivery now holds the guard and must try."""
        try:
            async with asyncio.timeout(self._wait_for_first):
                while True:
                    first = await self._inbound.find(key)
                    if first is not None and first.published:
                        return InboundOutcome("duplicate", first.ticket_id)
                    if await self._guard.acquire(key):
                        return None
                    await asyncio.sleep(_FIRST_DELIVERY_POLL_SECONDS)
        except TimeoutError:
            raise TicketNotRecorded("another delivery of this message is still in progress") from None
