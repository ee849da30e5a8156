"""The guarded write the SLA clocks, SLA report facts and surveys share, on the real server (nx-27017
here, MongoDB through MONGODB_URL): of two writers that read the same revision, one wins."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from helpdesk_events.revisions import write_next_revision

pytestmark = pytest.mark.integration


@pytest.fixture
def collection(db: AsyncDatabase) -> AsyncCollection:
    return db["clocks"]


async def test_of_two_writers_that_read_the_same_revision_one_wins_and_the_other_reads_again(
    collection: AsyncCollection,
) -> None:
    first = await asyncio.gather(*(write_next_revision(collection, "T1", 0, {"by": by}) for by in ("a", "b")))
    stored = await collection.find_one({"_id": "T1"})
    assert sorted(first) == [False, True] and stored["revision"] == 1

    second = await asyncio.gather(*(write_next_revision(collection, "T1", 1, {"by": by}) for by in ("c", "d")))
    late = await write_next_revision(collection, "T1", 1, {"by": "e"})  # read before the winner wrote
    again = await write_next_revision(collection, "T1", 2, {"by": "f"})  # read again: goes through

    assert sorted(second) == [False, True] and (late, again) == (False, True)
    assert await collection.find_one({"_id": "T1"}) == {"_id": "T1", "by": "f", "revision": 3}
