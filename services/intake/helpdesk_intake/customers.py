"""MongoDB `customers` and `customer_identities`: one customer record per person across channels.

`customer_identities`: `_id` = identity key ("email:ada@example.com") -> `customer_id`. Its unique
`_id` settles concurrent first contacts: every racer inserts its candidate, one wins, the others
read the winner, so one identity never gets two customers.
`customers`: `_id` = customer_id (UUID), identities, name, `ticket_count` (with the ticket ids it
counted, so a replayed `ticket.created` is not counted twice), created_at, and `tier` (the
support tier label an agent set, absent when none): new tickets carry it for triage rules.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from helpdesk_intake.identity import Identity, InvalidIdentity, identity_of

CUSTOMERS_COLLECTION = "customers"
CUSTOMER_IDENTITIES_COLLECTION = "customer_identities"
_TIER = re.compile(r"^[a-z0-9_-]{1,32}$")


def normalize_tier(label: str) -> str:
    """A tier label as stored and carried in `ticket.created`: trimmed, lower case, 1-32 of
    [a-z0-9_-]; ValueError otherwise (triage rules compare labels lower-cased, so "Gold" is "gold")."""
    tier = label.strip().lower()
    if not _TIER.match(tier):
        raise ValueError(f"{label[:80]!r} is not a tier label: 1-32 letters, digits, '_' or '-'")
    return tier


class CustomerView(BaseModel):
    """What `GET /v1/customers/{customer_id}` shows."""

    customer_id: str
    identities: list[str] = Field(description='Identity keys, e.g. "email:ada@example.com".')
    name: str | None = Field(description="Display name from the first contact, when given.")
    ticket_count: int = Field(description="Tickets this customer opened.")
    tier: str | None = Field(default=None, description="Support tier label, e.g. gold; null when none was set.")


@dataclass(frozen=True)
class KnownCustomer:
    """Who a channel's sender is, with what a new ticket carries about them."""

    customer_id: str
    tier: str | None = None


class IdentityTaken(Exception):
    """The identity already belongs to another customer."""


class CustomerDirectory:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._customers = database[CUSTOMERS_COLLECTION]
        self._identities = database[CUSTOMER_IDENTITIES_COLLECTION]

    async def create_indexes(self) -> None:
        # Erasure finds a customer's identities by customer_id. Explicit name: see the brief.
        await self._identities.create_index([("customer_id", ASCENDING)], name="customer_id")

    async def resolve(self, identity: Identity, name: str | None = None) -> KnownCustomer:
        """Whoever uses `identity`, creating the customer on first contact.

        THE entry point for every channel (web form, email, chat, social, voice): build the
        identity with `helpdesk_intake.identity.identity_of(kind, value)` (or email_identity,
        phone_identity, social_identity), call this before publishing `ticket.created`, and put
        the answer in `TicketCreated.customer_id` and `customer_tier`. Reach it as
        `TicketIntake.customers`. Idempotent and race-safe: the same identity always gets the same customer.
        """
        candidate = str(uuid.uuid4())
        try:
            await self._identities.insert_one(
                {"_id": identity.key, "customer_id": candidate, "created_at": _now()}
            )
        except DuplicateKeyError:
            known = await self._identities.find_one({"_id": identity.key})
            if known is None:  # erased in between: this contact starts a new customer
                return await self.resolve(identity, name)
            # A returning customer: one read brings their tier; the record is only written when
            # a resolver that stopped between the two writes left none.
            document = await self._customers.find_one({"_id": known["customer_id"]}, projection={"tier": True})
            if document is not None:
                return KnownCustomer(known["customer_id"], document.get("tier"))
            await self._create_record(known["customer_id"], identity, name)
            return KnownCustomer(known["customer_id"])
        await self._create_record(candidate, identity, name)
        return KnownCustomer(candidate)  # a new customer has no tier yet

    async def _create_record(self, customer_id: str, identity: Identity, name: str | None) -> None:
        record = {
            "identities": [identity.key],
            "name": name,
            "ticket_count": 0,
            "counted_ticket_ids": [],
            "created_at": _now(),
        }
        await self._customers.update_one({"_id": customer_id}, {"$setOnInsert": record}, upsert=True)

    async def set_tier(self, customer_id: str, tier: str | None) -> bool:
        """Set (None: remove) a known customer's tier, already normalized; False for an unknown
        customer, who is not brought back. Tickets opened from now on carry it."""
        change = {"$set": {"tier": tier}} if tier is not None else {"$unset": {"tier": ""}}
        result = await self._customers.update_one({"_id": customer_id}, change)
        return result.matched_count == 1

    async def add_identity(self, customer_id: str, identity: Identity) -> bool:
        """Attach another identity to a known customer (an agent learns that a caller is an emailer),
        so later contacts through it count for that customer. True if added, False if it already
        was theirs; IdentityTaken if it is another customer's (customers are not merged)."""
        try:
            await self._identities.insert_one(
                {"_id": identity.key, "customer_id": customer_id, "created_at": _now()}
            )
            return True
        except DuplicateKeyError:
            known = await self._identities.find_one({"_id": identity.key})
            if known is not None and known["customer_id"] == customer_id:
                return False
            raise IdentityTaken(identity.key) from None

    async def count_ticket(self, customer_id: str, ticket_id: str) -> None:
        """Once per ticket; an erased (unknown) customer is not brought back."""
        await self._customers.update_one(
            {"_id": customer_id, "counted_ticket_ids": {"$nin": [ticket_id]}},
            {"$inc": {"ticket_count": 1}, "$addToSet": {"counted_ticket_ids": ticket_id}},
        )

    async def get(self, customer_id: str) -> CustomerView | None:
        document = await self._customers.find_one({"_id": customer_id})
        if document is None:
            return None
        return CustomerView(
            customer_id=customer_id,
            identities=await self.identity_keys(customer_id),
            name=document.get("name"),
            ticket_count=document.get("ticket_count", 0),
            tier=document.get("tier"),
        )

    async def identity_keys(self, customer_id: str) -> list[str]:
        cursor = self._identities.find({"customer_id": customer_id}, projection={"_id": True})
        return sorted([document["_id"] async for document in cursor])

    async def forget(self, customer_id: str) -> None:
        """Erasure: identities first, so a new contact meanwhile starts a new customer."""
        await self._identities.delete_many({"customer_id": customer_id})
        await self._customers.delete_one({"_id": customer_id})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


async def customer_of(
    directory: CustomerDirectory | None, kind: str, value: str, name: str | None
) -> KnownCustomer | None:
    """The customer of a channel's sender, or None when the sender cannot be a customer identity
    (an anonymous chat visitor, a mail without an address): the ticket opens all the same."""
    if directory is None:
        return None
    try:
        identity = identity_of(kind, value)
    except InvalidIdentity:
        return None
    return await directory.resolve(identity, name)
