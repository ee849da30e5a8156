"""The email channel's one handler, behind both ways in (HTTP and SMTP).

parse -> never-a-ticket check -> thread -> one decision per mail (`InboundOnce`) -> remember the
Message-ID. A caller may report success only when `receive` returns: by then Kafka holds every
event of the mail. EmailParseError means the mail is unusable (400, SMTP 550); TicketNotRecorded
means try again later (503, SMTP 451).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from opentelemetry import trace

from helpdesk_intake.channels.auto_reply import auto_reply_reason
from helpdesk_intake.channels.email_events import inbound_key, planned_events
from helpdesk_intake.channels.email_message import InboundEmail, parse_email
from helpdesk_intake.channels.email_threading import (
    answered_message_ids,
    subject_ticket_reference,
    thread_by_message_id,
)
from helpdesk_intake.channels.email_threads import EmailThreads
from helpdesk_intake.channels.ignored_messages import IgnoredMessages
from helpdesk_intake.channels.inbound_messages import InboundDecision
from helpdesk_intake.channels.inbound_once import InboundOnce, InboundOutcome, InboundPlan
from helpdesk_intake.customers import CustomerDirectory, customer_of
from helpdesk_intake.read_model import TicketReadModel
from helpdesk_intake.ticket_view import TicketView

log = logging.getLogger(__name__)
tracer = trace.get_tracer("helpdesk_intake")

EmailOutcome = InboundOutcome  # what the SMTP listener and the HTTP route answer from


class EmailIntake:
    def __init__(
        self,
        *,
        once: InboundOnce,
        read_model: TicketReadModel,
        threads: EmailThreads,
        ignored: IgnoredMessages,
        own_addresses: Collection[str],
        max_attachment_bytes: int,
        customers: CustomerDirectory | None = None,
    ) -> None:
        self._once = once
        self._customers = customers
        self._read_model = read_model
        self._threads = threads
        self._ignored = ignored
        self._own_addresses = tuple(own_addresses)
        self._max_attachment_bytes = max_attachment_bytes

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

            # Before deciding, every time: resolving is idempotent, so a retried mail gets the same customer.
            customer = await customer_of(self._customers, "email", mail.from_address, mail.from_name)

            async def threaded_ticket() -> TicketView | None:
                return await self._threaded_ticket(mail)

            async def remember(decision: InboundDecision) -> None:
                await self._threads.remember(mail.message_id, decision.ticket_id, issued_by="customer")

            return await self._once.receive(
                InboundPlan(
                    key=key,
                    message_id=mail.message_id,
                    threaded_ticket=threaded_ticket,
                    events=lambda decision: planned_events(mail, decision, customer),
                    remember=remember,
                )
            )

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
