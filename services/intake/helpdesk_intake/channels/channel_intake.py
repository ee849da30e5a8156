"""The handler of the channels whose messages arrive normalized (chat, social, voice): thread by
the message's `ThreadRef`s in `channel_threads`, then one decision per message (`InboundOnce`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry import trace

from helpdesk_intake.channels.channel_message import ChannelMessage, planned_events
from helpdesk_intake.channels.channel_threads import ChannelThreads
from helpdesk_intake.channels.inbound_guard import InboundGuard
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.channels.inbound_once import InboundOnce, InboundOutcome, InboundPlan
from helpdesk_intake.customers import CustomerDirectory, customer_of
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.ticket_view import TicketView

tracer = trace.get_tracer("helpdesk_intake")


class ChannelIntake:
    def __init__(
        self,
        *,
        once: InboundOnce,
        threads: ChannelThreads,
        read_model: TicketReadModel,
        customers: CustomerDirectory | None = None,
        guard: InboundGuard | None = None,
        thread_wait_seconds: float = 10.0,
    ) -> None:
        self._guard = guard
        self._thread_wait_seconds = thread_wait_seconds
        self._once = once
        self._threads = threads
        self._read_model = read_model
        self._customers = customers

    async def receive(self, message: ChannelMessage) -> InboundOutcome:
        with tracer.start_as_current_span(
            f"receive {message.channel.value} message", attributes={"helpdesk.inbound_key": message.key}
        ):
            # Before deciding, every time: resolving is idempotent, so a retried message gets the same customer.
            sender = message.sender
            customer = await customer_of(self._customers, sender.kind, sender.value, sender.display_name)

            async def remember(decision: InboundDecision) -> None:
                for thread in message.threads:
                    await self._threads.remember(thread.key, decision.ticket_id)

            async with self._one_decision_per_thread(message):
                return await self._once.receive(
                    InboundPlan(
                        key=message.key,
                        message_id=message.key,
                        threaded_ticket=lambda: self._threaded_ticket(message),
                        events=lambda decision: planned_events(message, decision, customer),
                        remember=remember,
                    )
                )

    @asynccontextmanager
    async def _one_decision_per_thread(self, message: ChannelMessage) -> AsyncIterator[None]:
        """Messages of one conversation (its first thread key) are decided one after another, so the
        second of two first messages arriving together joins the first's ticket instead of opening its
        own. Bounded: after `thread_wait_seconds`, or without Redis, it goes ahead unguarded."""
        if self._guard is None or not message.threads:
            yield
            return
        key = "thread:" + message.threads[0].key
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._thread_wait_seconds
        held = await self._guard.acquire(key)
        while not held and loop.time() < deadline:
            await asyncio.sleep(0.05)
            held = await self._guard.acquire(key)
        try:
            yield
        finally:
            if held:
                await self._guard.release(key)

    async def _threaded_ticket(self, message: ChannelMessage) -> TicketView | None:
        """The ticket of the first thread that holds one it accepts; None opens a new ticket."""
        for thread in message.threads:
            ticket_id = await self._threads.ticket_of(thread.key)
            ticket = await self._read_model.get(ticket_id) if ticket_id is not None else None
            if ticket is not None and thread.accepts(ticket):
                return ticket
        return None
