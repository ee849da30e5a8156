"""The notifier's own copy of tickets (collection `tickets`): a `TicketView` per ticket, fed by events.

Every write is a `$set` (or `$addToSet`) of what the event says, guarded where order matters, so
a replayed event changes nothing and the view never needs another service's database. The
requester is kept as a subdocument `requester: {email, name}`, which customer erasure rewrites.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from helpdesk_events import TicketCreated
from helpdesk_events.times import stored_time
from helpdesk_notifier.ticket_view import SlackPost, TicketView


def _post_key(ts: str) -> str:
    return ts.replace(".", "_")  # field names may not hold dots


class MongoTicketProjection:
    def __init__(self, collection: AsyncCollection) -> None:
        self._tickets = collection

    async def get(self, ticket_id: str) -> TicketView | None:
        document = await self._tickets.find_one({"_id": ticket_id})
        return _view(document) if document is not None else None

    async def view(self, ticket_id: str) -> TicketView:
        """The view, or an empty one when no event of the ticket was seen yet."""
        return await self.get(ticket_id) or TicketView(ticket_id)

    async def created(self, ticket_id: str, created: TicketCreated, *, customer_message_id: str | None) -> None:
        fields: dict[str, Any] = {
            "subject": created.subject,
            "requester": {"email": created.requester.email, "name": created.requester.name},
            "channel": created.channel.value,
            "language": created.language,
            "known": True,
        }
        await self._tickets.update_one({"_id": ticket_id}, {"$set": fields}, upsert=True)
        # Priority and status as created, unless triage or a change already said otherwise.
        await self._tickets.update_one(
            {"_id": ticket_id, "priority": {"$exists": False}}, {"$set": {"priority": created.priority.value}}
        )
        await self._tickets.update_one({"_id": ticket_id, "status": {"$exists": False}}, {"$set": {"status": "new"}})
        if customer_message_id:
            await self.customer_message(ticket_id, customer_message_id)

    async def triaged(self, ticket_id: str, *, priority: str, team: str | None) -> None:
        fields: dict[str, Any] = {"priority": priority}
        if team:
            fields["team"] = team
        await self._tickets.update_one({"_id": ticket_id}, {"$set": fields}, upsert=True)

    async def assigned(
        self, ticket_id: str, *, agent_id: str, agent_name: str, slack_user_id: str | None, team: str | None
    ) -> None:
        fields: dict[str, Any] = {
            "agent_id": agent_id,
            "agent_name": agent_name,
            "slack_user_id": slack_user_id,
            "accepted": False,
        }
        if team:
            fields["team"] = team
        await self._tickets.update_one({"_id": ticket_id}, {"$set": fields}, upsert=True)

    async def unassigned(self, ticket_id: str, agent_id: str) -> None:
        await self._tickets.update_one(
            {"_id": ticket_id, "agent_id": agent_id},
            {"$set": {"agent_id": None, "agent_name": None, "slack_user_id": None, "accepted": False}},
        )

    async def accepted(self, ticket_id: str, agent_id: str) -> None:
        await self._tickets.update_one({"_id": ticket_id, "agent_id": agent_id}, {"$set": {"accepted": True}})

    async def status(self, ticket_id: str, status: str) -> None:
        await self._tickets.update_one({"_id": ticket_id}, {"$set": {"status": status}}, upsert=True)

    async def customer_message(self, ticket_id: str, message_id: str) -> None:
        # The list is made first: nx-27017 (the test server) ignores `$addToSet` on a missing field.
        await self._tickets.update_one({"_id": ticket_id}, {"$setOnInsert": {"requester": {}}}, upsert=True)
        await self._tickets.update_one(
            {"_id": ticket_id, "customer_message_ids": {"$exists": False}},
            {"$set": {"customer_message_ids": []}},
        )
        await self._tickets.update_one(
            {"_id": ticket_id}, {"$addToSet": {"customer_message_ids": message_id}}, upsert=True
        )

    async def sla_due(self, ticket_id: str, metric: str, due_at: datetime | None) -> None:
        await self._tickets.update_one({"_id": ticket_id}, {"$set": {f"sla_due.{metric}": due_at}}, upsert=True)

    async def posted(self, ticket_id: str, post: SlackPost) -> None:
        await self._tickets.update_one(
            {"_id": ticket_id},
            {"$set": {f"slack_posts.{_post_key(post.ts)}": {"conversation": post.conversation, "ts": post.ts,
                                                             "agent_id": post.agent_id,
                                                             "delivery_key": post.delivery_key,
                                                             "shown": post.shown}}},  # fmt: skip
            upsert=True,
        )

    async def shown(self, ticket_id: str, ts: str, digest: str) -> None:
        """The posted message `ts` now shows what `digest` names (it was just updated to that)."""
        await self._tickets.update_one(
            {"_id": ticket_id, f"slack_posts.{_post_key(ts)}": {"$exists": True}},
            {"$set": {f"slack_posts.{_post_key(ts)}.shown": digest}},
        )


def _view(document: dict[str, Any]) -> TicketView:
    requester = document.get("requester") or {}
    posts = sorted((document.get("slack_posts") or {}).values(), key=lambda post: float(post["ts"]))
    return TicketView(
        ticket_id=document["_id"],
        subject=document.get("subject") or TicketView.subject,
        requester_email=requester.get("email"),
        requester_name=requester.get("name"),
        channel=document.get("channel") or TicketView.channel,
        priority=document.get("priority") or TicketView.priority,
        status=document.get("status") or TicketView.status,
        language=document.get("language"),
        team=document.get("team"),
        agent_id=document.get("agent_id"),
        agent_name=document.get("agent_name"),
        slack_user_id=document.get("slack_user_id"),
        accepted=bool(document.get("accepted")),
        sla_due={metric: stored_time(due) for metric, due in (document.get("sla_due") or {}).items()},
        customer_message_ids=tuple(document.get("customer_message_ids") or ()),
        slack_posts=tuple(
            SlackPost(
                post["conversation"],
                post["ts"],
                post["agent_id"],
                delivery_key=post.get("delivery_key", ""),
                shown=post.get("shown", ""),
            )
            for post in posts
        ),
        known=bool(document.get("known")),
    )
