"""Erasing a customer: `DELETE /v1/customers/{id}` announces `customer.erased`; every service, intake
included, acts on it from the `customers` topic.

Intake's share: the customer's tickets are anonymized (`erasure.erase_ticket`), the email channel's
records of their mail are removed, then their identities and customer record. Each step is an
idempotent write, in an order a crash can resume from (the event names what to find; the customer
record goes last), so a replayed or redelivered event is harmless.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import CustomerErased, Envelope
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.channels.channel_threads import CHANNEL_THREADS_COLLECTION
from helpdesk_intake.channels.email_threads import EMAIL_THREADS_COLLECTION
from helpdesk_intake.channels.ignored_messages import IGNORED_MESSAGES_COLLECTION
from helpdesk_intake.channels.inbound_messages import INBOUND_MESSAGES_COLLECTION
from helpdesk_intake.customers import CustomerDirectory
from helpdesk_intake.erasure import erase_ticket, erasure_event
from helpdesk_intake.intake import NotAcknowledged, publish_acknowledged
from helpdesk_intake.read_model import TICKETS_COLLECTION

log = logging.getLogger(__name__)

_ERASED_EVENT_IDS = uuid.UUID("0b7c5a8e-2f4d-4e61-9a3b-5c8d7e6f1a24")  # namespace of customer.erased ids


class ErasureNotRecorded(NotAcknowledged):
    """Kafka did not acknowledge `customer.erased`: the erasure was not requested."""


class CustomerErasure:
    def __init__(
        self,
        database: AsyncDatabase[dict[str, Any]],
        customers: CustomerDirectory,
        publisher: EventPublisher,
        publish_timeout: float,
    ) -> None:
        self._database = database
        self._customers = customers
        self._publisher = publisher
        self._publish_timeout = publish_timeout

    async def request(self, customer_id: str) -> bool:
        """Announce the erasure (acks=all); False for an unknown customer. Raises ErasureNotRecorded."""
        if await self._customers.get(customer_id) is None:
            return False
        payload = erasure_event(customer_id, await self._customers.identity_keys(customer_id))
        envelope = await publish_acknowledged(
            self._publisher,
            payload,
            timeout=self._publish_timeout,
            error=ErasureNotRecorded,
            event_id=uuid.uuid5(_ERASED_EVENT_IDS, customer_id),  # a repeated request carries the same id
        )
        # Read-your-writes, as for tickets: the consumer applies it again later, harmlessly.
        try:
            await self.on_customer_erased(envelope)
        except Exception:
            log.warning("erasure of %s not applied yet; the consumer will", customer_id, exc_info=True)
        return True

    async def on_customer_erased(self, envelope: Envelope[CustomerErased]) -> None:
        event = envelope.payload
        tickets = self._database[TICKETS_COLLECTION]
        # By address too: tickets from before customer records. Only those older than the request,
        # so a replay cannot erase what a new contact (a new customer) wrote since.
        requested_at = envelope.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
        by_address = {"requester.email": {"$in": list(event.emails)}, "created_at": {"$lte": requested_at}}
        query = {"$or": [{"customer_id": event.customer_id}, by_address]}
        ticket_ids: list[str] = []
        async for ticket in tickets.find(query):
            await tickets.update_one({"_id": ticket["_id"]}, {"$set": erase_ticket(ticket)})
            ticket_ids.append(ticket["_id"])
        await self._forget_channel_records(ticket_ids, list(event.emails))
        await self._customers.forget(event.customer_id)
        log.info("erased customer %s from %d ticket(s)", event.customer_id, len(ticket_ids))

    async def _forget_channel_records(self, ticket_ids: list[str], emails: list[str]) -> None:
        """The channels' bookkeeping of the customer's tickets: Message-IDs of their mail (which name
        their mail system), inbound message records, conversation threads, and ignored mail they
        sent. A message of theirs redelivered afterwards is a new message."""
        if ticket_ids:
            await self._database[EMAIL_THREADS_COLLECTION].delete_many(
                {"ticket_id": {"$in": ticket_ids}, "issued_by": "customer"}
            )
            await self._database[INBOUND_MESSAGES_COLLECTION].delete_many({"ticket_id": {"$in": ticket_ids}})
            # Chat, social and voice threads: their keys hold handles and phone numbers.
            await self._database[CHANNEL_THREADS_COLLECTION].delete_many({"ticket_id": {"$in": ticket_ids}})
        if emails:
            await self._database[IGNORED_MESSAGES_COLLECTION].delete_many({"sender": {"$in": emails}})
