"""The guarded write of a document that several writers may change at once (two consumers after a
rebalance, a handler and a timer): each write names the revision it read, and only one wins."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


async def write_next_revision(
    collection: AsyncCollection, document_id: str, read: int, fields: dict[str, Any]
) -> bool:
    """Store `fields` as revision `read + 1` of the document, unless another writer did first (False:
    read again and decide again). Revision 0 is a document not stored yet: it is inserted."""
    if read == 0:
        try:
            await collection.insert_one({"_id": document_id, **fields, "revision": 1})
        except DuplicateKeyError:
            return False
        return True
    result = await collection.update_one(
        {"_id": document_id, "revision": read}, {"$set": {**fields, "revision": read + 1}}
    )
    return result.matched_count == 1
