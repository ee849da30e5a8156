"""The ticket read model in MongoDB: one document per ticket, `_id` = ticket id."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_intake.projection import ReadModelWrite
from helpdesk_intake.ticket_view import TicketView

TICKETS_COLLECTION = "tickets"


class TicketReadModel:
    """Applies projected writes and reads tickets back. Every read is by `_id`: no other index is needed."""

    def __init__(self, tickets: AsyncCollection[dict[str, Any]]) -> None:
        self._tickets = tickets

    async def apply(self, write: ReadModelWrite) -> bool:
        """True if the write inserted or matched the ticket; False if its guards held it back
        (already applied, another assignee) or the ticket is not there."""
        result = await self._tickets.update_one(write.filter, write.update, upsert=write.upsert)
        if result.matched_count == 0 and result.upserted_id is None and write.else_filter is not None:
            result = await self._tickets.update_one(write.else_filter, write.update)
        return result.matched_count > 0 or result.upserted_id is not None

    async def exists(self, ticket_id: str) -> bool:
        return await self._tickets.find_one({"_id": ticket_id}, projection={"_id": True}) is not None

    async def assignee_with_slack_user(self, ticket_id: str, slack_user_id: str) -> str | None:
        """The assigned agent's id if that agent is this Slack user (from `ticket.assigned`), else None."""
        document = await self._tickets.find_one(
            {"_id": ticket_id, "assignee_slack_user_id": slack_user_id}, projection={"assignee_id": True}
        )
        return document["assignee_id"] if document is not None else None

    async def get(self, ticket_id: str) -> TicketView | None:
        document = await self._tickets.find_one({"_id": ticket_id})
        return TicketView.from_document(document) if document is not None else None
