"""The notifier's own small copy of tickets (collection `tickets`), fed by `ticket.created`.

Services never read each other's databases; what the agent's Slack message mentions
(subject, requester, channel, priority) is kept here.
"""

from __future__ import annotations

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_notifier.messages import TicketSummary


class MongoTicketProjection:
    def __init__(self, collection: AsyncCollection) -> None:
        self._tickets = collection

    async def remember(self, ticket_id: str, ticket: TicketSummary) -> None:
        # An upsert of the same values: a replayed ticket.created changes nothing.
        await self._tickets.update_one(
            {"_id": ticket_id},
            {
                "$set": {
                    "subject": ticket.subject,
                    "requester": {"email": ticket.requester_email, "name": ticket.requester_name},
                    "channel": ticket.channel,
                    "priority": ticket.priority,
                }
            },
            upsert=True,
        )

    async def get(self, ticket_id: str) -> TicketSummary | None:
        document = await self._tickets.find_one({"_id": ticket_id})
        if document is None:
            return None
        return TicketSummary(
            subject=document["subject"],
            requester_email=document["requester"]["email"],
            requester_name=document["requester"].get("name"),
            channel=document["channel"],
            priority=document["priority"],
        )
