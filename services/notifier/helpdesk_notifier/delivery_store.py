"""The durable record of deliveries in MongoDB (collection `deliveries`, `_id` = delivery key)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events import DeliveryChannel
from helpdesk_notifier.deliveries import Delivery, DeliveryKind, DeliveryRequest, DeliveryStatus


class MongoDeliveryStore:
    def __init__(self, collection: AsyncCollection) -> None:
        self._deliveries = collection

    async def create_indexes(self) -> None:
        # Explicit names: the embedded test server cannot choose them.
        await self._deliveries.create_index(
            [("ticket_id", ASCENDING), ("created_at", DESCENDING)], name="ticket_id_created_at"
        )
        await self._deliveries.create_index([("created_at", DESCENDING)], name="created_at")

    async def get(self, key: str) -> Delivery | None:
        document = await self._deliveries.find_one({"_id": key})
        return _delivery(document) if document else None

    async def begin(self, request: DeliveryRequest) -> Delivery:
        """Record the delivery as "sending" before any attempt.

        The content is written only when the record is new: a re-send (an email left in flight,
        a re-driven failure) sends exactly what was composed the first time, Message-ID included.
        """
        return await self._upsert(request, {"status": DeliveryStatus.SENDING.value, "announced": False})

    async def skip(self, request: DeliveryRequest, reason: str) -> Delivery:
        return await self._upsert(request, {"status": DeliveryStatus.SKIPPED.value, "reason": reason})

    async def skip_open(self, key: str, reason: str) -> bool:
        """Settle the delivery as skipped if it has a record still open (sending, or failed); never makes
        one. True if there was one."""
        open_statuses = [DeliveryStatus.SENDING.value, DeliveryStatus.FAILED.value]
        result = await self._deliveries.update_one(
            {"_id": key, "status": {"$in": open_statuses}},
            {"$set": {"status": DeliveryStatus.SKIPPED.value, "reason": reason, "in_flight": False,
                      "updated_at": datetime.now(UTC)}},  # fmt: skip
        )
        return result.modified_count > 0

    async def start_attempt(self, key: str) -> Delivery:
        return await self._update(key, {"$inc": {"attempts": 1}, "$set": {"in_flight": True}})

    async def attempt_failed(self, key: str, error: str) -> Delivery:
        return await self._update(key, {"$set": {"in_flight": False, "last_error": error}})

    async def settle(
        self,
        key: str,
        status: DeliveryStatus,
        *,
        external_id: str | None = None,
        error: str | None = None,
        conversation: str | None = None,
        reason: str | None = None,
    ) -> Delivery:
        fields: dict[str, Any] = {"status": status.value, "in_flight": False}
        if reason is not None:
            fields["reason"] = reason
        if external_id is not None:
            fields["external_id"] = external_id
        if conversation is not None:
            fields["conversation"] = conversation
        if error is not None:  # a success keeps the error of an earlier attempt: it tells why attempts > 1
            fields["last_error"] = error
        return await self._update(key, {"$set": fields})

    async def mark_announced(self, key: str) -> Delivery:
        return await self._update(key, {"$set": {"announced": True}})

    async def list(self, ticket_id: str | None = None, limit: int = 100) -> list[Delivery]:
        """Newest first."""
        query = {"ticket_id": ticket_id} if ticket_id is not None else {}
        newest_first = [("created_at", DESCENDING), ("_id", DESCENDING)]
        cursor = self._deliveries.find(query).sort(newest_first).limit(limit)
        return [_delivery(document) async for document in cursor]

    async def _upsert(self, request: DeliveryRequest, fields: dict[str, Any]) -> Delivery:
        now = datetime.now(UTC)
        on_insert = {
            "ticket_id": request.ticket_id,
            "channel": request.channel.value,
            "kind": request.kind.value,
            "recipient": request.recipient,
            "trigger_event_id": str(request.trigger_event_id),
            "trigger_event_type": request.trigger_event_type,
            "content": request.content,
            "attempts": 0,
            "in_flight": False,
            "created_at": now,
        }
        # update_one, then a read: the embedded test server ignores $setOnInsert in find_one_and_update.
        update = {"$setOnInsert": on_insert, "$set": {**fields, "updated_at": now}}
        await self._deliveries.update_one({"_id": request.key}, update, upsert=True)
        document = await self._deliveries.find_one({"_id": request.key})
        assert document is not None
        return _delivery(document)

    async def _update(self, key: str, update: dict[str, Any]) -> Delivery:
        update.setdefault("$set", {})["updated_at"] = datetime.now(UTC)
        document = await self._deliveries.find_one_and_update(
            {"_id": key}, update, return_document=ReturnDocument.AFTER
        )
        if document is None:
            raise LookupError(f"no delivery {key}")
        return _delivery(document)


def _delivery(document: dict[str, Any]) -> Delivery:
    return Delivery(
        key=document["_id"],
        ticket_id=document["ticket_id"],
        channel=DeliveryChannel(document["channel"]),
        kind=DeliveryKind(document["kind"]),
        recipient=document["recipient"],
        status=DeliveryStatus(document["status"]),
        trigger_event_id=uuid.UUID(document["trigger_event_id"]),
        trigger_event_type=document["trigger_event_type"],
        content=document.get("content") or {},
        created_at=document["created_at"],
        updated_at=document["updated_at"],
        attempts=document.get("attempts", 0),
        last_error=document.get("last_error"),
        reason=document.get("reason"),
        external_id=document.get("external_id"),
        conversation=document.get("conversation"),
        in_flight=document.get("in_flight", False),
        announced=document.get("announced", False),
    )
