"""Who asked to be forgotten: the suppression list of a service that keeps requesters' addresses.

Events naming a customer stay on Kafka until retention expires, and `customer.erased` travels on its
own topic, so a `ticket.created` from before the erasure can be handled after it (a redelivery, a
replay, a partition that lags). A service that keeps the requester's address therefore remembers, in
its own database, SHA-256 digests of erased addresses (never the addresses) and when the erasure was
requested; a `ticket.created` of such a requester from before then is handled as erased. The same
person writing again afterwards is a new customer. The latest request counts: a replayed older
`customer.erased` changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events.customer import CustomerErased
from helpdesk_events.envelope import Envelope
from helpdesk_events.ticket import TicketCreated


def address_digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


class ErasedRequesters:
    def __init__(self, collection: AsyncCollection) -> None:
        self._erased = collection

    async def remember(self, envelope: Envelope[CustomerErased]) -> None:
        """Record the erasure before acting on it: from here on, earlier `ticket.created` is erased."""
        requested_at = _utc(envelope)
        for email in envelope.payload.emails:
            await self._erased.update_one(
                {"_id": address_digest(email)}, {"$max": {"requested_at": requested_at}}, upsert=True
            )

    async def erased(self, envelope: Envelope[TicketCreated]) -> bool:
        """Whether this ticket's requester asked, after it was created, to be forgotten."""
        erased = await self._erased.find_one({"_id": address_digest(envelope.payload.requester.email)})
        return erased is not None and _utc(envelope) <= erased["requested_at"]


def _utc(envelope: Envelope) -> str:
    """Fixed-width ISO-8601 in UTC: compares as text, stores the same on MongoDB and nx-27017."""
    return envelope.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
