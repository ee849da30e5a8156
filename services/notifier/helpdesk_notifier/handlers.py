"""Event handlers: ticket.created acknowledges to the requester, ticket.assigned tells the agent."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from email.utils import make_msgid, parseaddr

from helpdesk_events import DeliveryChannel, Envelope, TicketAssigned, TicketCreated
from helpdesk_events.consumer import DeadLetter
from helpdesk_notifier.deliverer import Deliverer
from helpdesk_notifier.deliveries import Delivery, DeliveryKind, DeliveryRequest, undeliverable_email
from helpdesk_notifier.messages import (
    AcknowledgementEmail,
    TicketSummary,
    build_email,
    compose_acknowledgement,
    compose_assignment,
)
from helpdesk_notifier.ports import ChatClient, ChatMessage, Mailer, Receipt
from helpdesk_notifier.ticket_projection import MongoTicketProjection

log = logging.getLogger(__name__)


class NotifierHandlers:
    def __init__(
        self,
        *,
        tickets: MongoTicketProjection,
        deliverer: Deliverer,
        mailer: Mailer,
        chat: ChatClient,
        email_from: str,
        email_domain: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._tickets = tickets
        self._deliverer = deliverer
        self._mailer = mailer
        self._chat = chat
        self._email_from = email_from
        self._email_domain = email_domain
        self._signature = parseaddr(email_from)[0] or "Support"
        self._clock = clock

    async def on_ticket_created(self, envelope: Envelope[TicketCreated]) -> None:
        ticket_id = _ticket_id(envelope)
        created = envelope.payload
        await self._tickets.remember(ticket_id, TicketSummary.from_created(created))
        # A fresh Message-ID each time; only the first is kept, with the content (see the store's `begin`).
        email = compose_acknowledgement(
            ticket_id, created, message_id=make_msgid(domain=self._email_domain), signature=self._signature
        )
        request = _request(envelope, ticket_id, DeliveryChannel.EMAIL, DeliveryKind.ACKNOWLEDGEMENT,
                           recipient=created.requester.email, content=asdict(email))  # fmt: skip
        if undeliverable_email(created.requester.email):
            await self._deliverer.skip(request, reason=f"the requester has no email address ({created.channel} contact)")
            return
        await self._deliverer.deliver(request, self._send_email)

    async def on_ticket_assigned(self, envelope: Envelope[TicketAssigned]) -> None:
        ticket_id = _ticket_id(envelope)
        assigned = envelope.payload
        if not assigned.slack_user_id:
            request = _request(envelope, ticket_id, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT,
                               recipient=f"agent:{assigned.agent_id}")  # fmt: skip
            await self._deliverer.skip(request, reason=f"agent {assigned.agent_id} has no slack_user_id")
            return
        ticket = await self._tickets.get(ticket_id)
        if ticket is None:
            log.warning("ticket %s assigned before its ticket.created was seen: no details", ticket_id)
        message = compose_assignment(ticket_id, assigned, ticket, channel=assigned.slack_user_id)
        request = _request(envelope, ticket_id, DeliveryChannel.SLACK, DeliveryKind.ASSIGNMENT,
                           recipient=assigned.slack_user_id, content=message.as_content())  # fmt: skip
        await self._deliverer.deliver(request, self._post_to_slack)

    async def _send_email(self, delivery: Delivery) -> Receipt:
        content = AcknowledgementEmail(**delivery.content)
        message = build_email(
            content, sender=self._email_from, ticket_id=delivery.ticket_id, date=self._clock()
        )
        return await self._mailer.send(message)

    async def _post_to_slack(self, delivery: Delivery) -> Receipt:
        return await self._chat.post_message(ChatMessage.from_content(delivery.content))


def _ticket_id(envelope: Envelope) -> str:
    if not envelope.ticket_id:
        raise DeadLetter(f"{envelope.type} {envelope.id} has no ticket_id")
    return envelope.ticket_id


def _request(
    envelope: Envelope,
    ticket_id: str,
    channel: DeliveryChannel,
    kind: DeliveryKind,
    *,
    recipient: str,
    content: dict | None = None,
) -> DeliveryRequest:
    return DeliveryRequest(
        ticket_id=ticket_id,
        channel=channel,
        kind=kind,
        recipient=recipient,
        trigger_event_id=envelope.id,
        trigger_event_type=envelope.type,
        content=content or {},
    )
