"""The suppression list of erased requesters on the real server (nx-27017 here, MongoDB through
MONGODB_URL): digests only, the latest request counts, and a ticket from after it is a new customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events import CustomerErased, Envelope, Requester, TicketCreated, new_envelope
from helpdesk_events.erased_requesters import ErasedRequesters

pytestmark = pytest.mark.integration

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def collection(db: AsyncDatabase) -> AsyncCollection:
    return db["erased_requesters"]


def erasure(at: datetime, *emails: str) -> Envelope[CustomerErased]:
    return new_envelope(CustomerErased(customer_id="C-kim", emails=emails), source="intake", occurred_at=at)


def created(at: datetime, email: str) -> Envelope[TicketCreated]:
    payload = TicketCreated(subject="Refund", body="Please.", requester=Requester(email=email), channel="email",
                            message_id=f"m-{at.timestamp()}")  # fmt: skip
    return new_envelope(payload, source="intake", ticket_id=f"T-{at.timestamp()}", occurred_at=at)


async def test_a_ticket_from_before_the_latest_erasure_is_erased_and_one_from_after_is_not(
    collection: AsyncCollection,
) -> None:
    erased = ErasedRequesters(collection)
    await erased.remember(erasure(NOON, "Kim@Example.com", "kim@work.example.com"))
    # A replayed older request must not shorten what the newer one covers.
    await erased.remember(erasure(NOON - timedelta(days=1), "kim@example.com"))

    before = [created(NOON - timedelta(hours=1), "kim@example.com"), created(NOON, "KIM@Work.Example.com")]
    after = created(NOON + timedelta(seconds=1), "kim@example.com")
    stranger = created(NOON - timedelta(hours=1), "lee@example.com")
    assert [await erased.erased(envelope) for envelope in before] == [True, True]
    assert not await erased.erased(after)  # the same person writing again is a new customer
    assert not await erased.erased(stranger)
    stored = [document async for document in collection.find({})]
    assert len(stored) == 2 and "kim" not in str(stored)  # digests, never the addresses
