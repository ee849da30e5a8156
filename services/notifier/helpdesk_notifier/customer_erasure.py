"""The notifier's share of a customer's erasure (`customer.erased`).

Its `tickets` copy loses the requester and subject; deliveries to the customer's addresses lose
recipient and content and are re-keyed (the delivery key names the recipient); deliveries about
their tickets (agents' Slack messages naming them) lose their content. Status, attempts and
timestamps stay, so delivery counts still add up.

A redelivered or replayed `ticket.created` would bring the customer back (and, with the old key
gone, mail them again): the suppression list `erased_requesters` (helpdesk_events.erased_requesters)
is written first, and `unless_erased` drops `ticket.created` of those requesters from before the
erasure. Every write sets fixed values or upserts: a replayed `customer.erased` changes nothing more.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events import CustomerErased, Envelope, TicketCreated
from helpdesk_events.consumer import Handler
from helpdesk_events.erased_requesters import ErasedRequesters, address_digest

ERASED = "erased"
ERASED_TEXT = "[erased]"

log = logging.getLogger(__name__)


def erased_key(key: str, address: str) -> str:
    """The delivery key with the address replaced by its digest: still one per (event, recipient)."""
    return key.replace(address, f"{ERASED}:{address_digest(address)[:16]}")


class NotifierErasure:
    def __init__(
        self, tickets: AsyncCollection, deliveries: AsyncCollection, erased: AsyncCollection
    ) -> None:
        self._tickets = tickets
        self._deliveries = deliveries
        self._erased = ErasedRequesters(erased)

    async def on_customer_erased(self, envelope: Envelope[CustomerErased]) -> None:
        emails = list(envelope.payload.emails)
        if not emails:  # a customer known by phone or handle only: the notifier never wrote to them
            return
        await self._erased.remember(envelope)  # first: from here on, their ticket.created is dropped
        ticket_ids = [
            document["_id"]
            async for document in self._tickets.find(
                {"requester.email": {"$in": emails}}, projection={"_id": True}
            )
        ]
        if ticket_ids:
            # Deliveries before the tickets: the tickets are how a resumed erasure finds them again.
            await self._deliveries.update_many({"ticket_id": {"$in": ticket_ids}}, {"$set": {"content": {}}})
        async for delivery in self._deliveries.find({"recipient": {"$in": emails}}):
            await self._rekey(delivery)
        if ticket_ids:
            await self._tickets.update_many(
                {"_id": {"$in": ticket_ids}},
                {"$set": {"requester": {"email": ERASED, "name": None}, "subject": ERASED_TEXT}},
            )
        log.info("erased customer %s from %d ticket(s)", envelope.payload.customer_id, len(ticket_ids))

    async def _rekey(self, delivery: dict[str, Any]) -> None:
        # Write the new record before removing the old: a crash in between leaves a copy to finish.
        old_key, address = delivery["_id"], delivery["recipient"]
        anonymous = {**delivery, "recipient": ERASED, "content": {}}
        anonymous.pop("last_error", None)  # SMTP errors quote the recipient
        anonymous["_id"] = erased_key(old_key, address)
        await self._deliveries.replace_one({"_id": anonymous["_id"]}, anonymous, upsert=True)
        await self._deliveries.delete_one({"_id": old_key})

    def unless_erased(self, handler: Handler) -> Handler:
        """`handler` for `ticket.created`, skipping requesters who were erased."""

        async def on_ticket_created(envelope: Envelope[TicketCreated]) -> None:
            if await self._erased.erased(envelope):
                log.info("ticket.created %s of an erased requester: not acknowledged", envelope.id)
                return
            await handler(envelope)

        return on_ticket_created

