"""The email channel's one handler, behind both ways in (HTTP and SMTP).

parse -> never-a-ticket check -> duplicate check -> thread -> decide (durably) -> publish (acks=all)
-> remember the Message-ID. A caller may report success only when `receive` returns: by then
Kafka holds every event of the mail. EmailParseError means the mail is unusable (400, SMTP 550);
TicketNotRecorded means try again later (503, SMTP 451).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from opentelemetry import trace

from helpdesk_intake.channels.auto_reply import auto_reply_reason
from helpdesk_intake.channels.email_events import decide, inbound_key, planned_events
from helpdesk_intake.channels.email_message import InboundEmail, parse_email
from helpdesk_intake.channels.email_threading import (
    answered_message_ids,
    subject_ticket_reference,
    thread_by_message_id,
)
from helpdesk_intake.channels.email_threads import EmailThreads
from helpdesk_intake.channels.ignored_messages import IgnoredMessages
from helpdesk_intake.channels.inbound_guard import InboundGuard
from helpdesk_intake.channels.inbound_messages import InboundDecision, InboundMessages
from helpdesk_intake.intake import TicketIntake, TicketNotRecorded
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.ticket_view import TicketView

log = logging.getLogger(__name__)
tracer = trace.get_tracer("helpdesk_intake")

_FIRST_DELIVERY_POLL_SECONDS = 0.05


@dataclass(frozen=True)
class EmailOutcome:
    outcome: Literal["created", "appended", "duplicate", "ignored"]
    ticket_id: str | None = None
    reason: str | None = None


class EmailIntake:
    def __init__(
        self,
        *,
        intake: TicketIntake,
        read_model: TicketReadModel,
        threads: EmailThreads,
        inbound: InboundMessages,
        ignored: IgnoredMessages,
        guard: InboundGuard,
        own_addresses: Collection[str],
        max_attachment_bytes: int,
        wait_for_first_seconds: float,
    ) -> None:
        self._intake = intake
        self._read_model = read_model
        self._threads = threads
        self._inbound = inbound
        self._ignored = ignored
        self._guard = guard
        self._own_addresses = tuple(own_addresses)
        self._max_attachment_bytes = max_attachment_bytes
        self._wait_for_first = wait_for_first_seconds

    async def receive(self, raw: bytes) -> EmailOutcome:
        mail = parse_email(raw, max_attachment_bytes=self._max_attachment_bytes)
        key = inbound_key(mail)
        with tracer.start_as_current_span("receive email", attributes={"helpdesk.inbound_key": key}):
            reason = auto_reply_reason(
                mail.headers, sender=mail.from_address, own_addresses=self._own_addresses
            )
            if reason is not None:
                await self._ignored.record(key, mail, reason)
                log.info("ignored %s from %s: %s", mail.message_id, mail.from_address, reason)
                return EmailOutcome("ignored", reason=reason)

            earlier = await self._inbound.find(key)
            if earlier is not None and earlier.published:
                return EmailOutcome("duplicate", earlier.ticket_id)
            if not await self._guard.acquire(key):
                first = await self._wait_for_first_delivery(key)
                if first is not None:
                    return first
            try:
                # Read again under the guard: a delivery that finished meanwhile decided already.
                decision = await self._inbound.find(key) or await self._decide(key, mail)
                if decision.published:
                    return EmailOutcome("duplicate", decision.ticket_id)
                for planned in planned_events(mail, decision):
                    await self._intake.record(
                        planned.payload, ticket_id=decision.ticket_id, event_id=planned.event_id
                    )
                await self._threads.remember(mail.message_id, decision.ticket_id, issued_by="customer")
                await self._inbound.mark_published(key)
            finally:
                await self._guard.release(key)
            return EmailOutcome(decision.outcome, decision.ticket_id)

    async def _decide(self, key: str, mail: InboundEmail) -> InboundDecision:
        ticket = await self._threaded_ticket(mail)
        decision = decide(
            key,
            threaded_ticket=ticket.ticket_id if ticket else None,
            status=ticket.status if ticket else None,
            new_ticket_id=str(uuid.uuid4()),
        )
        event_ids = [str(planned.event_id) for planned in planned_events(mail, decision)]
        return await self._inbound.decide(decision, event_ids=event_ids, message_id=mail.message_id)

    async def _threaded_ticket(self, mail: InboundEmail) -> TicketView | None:
        """The ticket the mail answers, as the read model knows it; None for a new conversation.

        A reference to a ticket the read model does not know (a typo, another help desk's tag)
        opens a new ticket rather than a message nobody can see.
        """
        known = await self._threads.tickets_of(answered_message_ids(mail))
        candidates = [thread_by_message_id(mail, known), subject_ticket_reference(mail.subject)]
        for ticket_id in candidates:
            if ticket_id is not None:
                ticket = await self._read_model.get(ticket_id)
                if ticket is not None:
                    return ticket
        return None

    async def _wait_for_first_delivery(self, key: str) -> EmailOutcome | None:
        """Another delivery of this mail is in progress: its answer is ours once it has one; None
        when it gave up (Kafka refused it) and this delivery now holds the guard and must try."""
        try:
            async with asyncio.timeout(self._wait_for_first):
                while True:
                    first = await self._inbound.find(key)
                    if first is not None and first.published:
                        return EmailOutcome("duplicate", first.ticket_id)
                    if await self._guard.acquire(key):
                        return None
                    await asyncio.sleep(_FIRST_DELIVERY_POLL_SECONDS)
        except TimeoutError:
            raise TicketNotRecorded("another delivery of this message is still in progress") from None
