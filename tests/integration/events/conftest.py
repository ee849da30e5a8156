"""Fixtures of the shared helpers' tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


@pytest.fixture
async def scratch_db(mongodb_url: str, mongo_db_prefix: str) -> AsyncIterator[AsyncDatabase]:
    """A database of this test's own on the session's server, dropped after it."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    database = client[f"{mongo_db_prefix}helpers"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()
