"""The ticket read model's projection: each ticket event becomes one idempotent MongoDB update.

Pure: a function per event type turns an envelope into a filter and an update document, so
the consumer, the POST path (read-your-writes) and a replay can all apply the same event
and land on the same document.

Idempotency, twice over:
- `ticket.created` inserts with `$setOnInsert` only: applying it to an existing ticket is a no-op;
- every other event is guarded by its event id (`applied_event_ids`), so a redelivered event
  matches nothing, and messages are also guarded by their message id (`message_ids`), since a
  channel may report the same message in two events.

Only what MongoDB and nx-27017 (the test server) both do right is used: guards test arrays of
plain strings with `$nin` (nx-27017 gets `$ne` on arrays and tests on `messages.message_id`
wrong); messages are added with `$addToSet` (its `$push` of a sub-document turns the array's
documents into strings); timestamps are ISO-8601 strings in UTC with microseconds, fixed width so
they sort as text (its `$set` and `$max` of a top-level date store or compare it wrongly).

SLA clocks (`sla.*`, from the sla topic) land in `sla.<metric>` of the ticket. That topic is read
beside the tickets topic with no order between the two, and a replay may bring an old clock event
after a newer one: each clock keeps the time of the event it shows (`updated_at`, and as a number,
`updated_at_us`) and an older event matches nothing. The guard is two filters tried in turn, "no such
clock yet" then "an older one", each a plain match on `_id` and a number: nx-27017 answers `$or`, or a
comparison with a time written as text, by reading every ticket in the collection (40 ms a write at
2,000 tickets, growing with it), and it has no `$not`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk_events import (
    AuthorKind,
    Envelope,
    EventPayload,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    TicketAssigned,
    TicketAssignmentAnswered,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketQueued,
    TicketStatus,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
)

Document = dict[str, Any]


class UnprojectableEvent(ValueError):
    """An event the read model cannot place: it names no ticket, or is not about tickets."""


@dataclass(frozen=True)
class ReadModelWrite:
    """`update_one(filter, update, upsert=upsert)` on the tickets collection; when `filter` matches
    nothing and there is an `else_filter`, `update_one(else_filter, update)` (in place of an `$or`)."""

    ticket_id: str
    filter: Document
    update: Document
    upsert: bool = False
    else_filter: Document | None = None


def project(envelope: Envelope) -> ReadModelWrite:
    """The update for one ticket event; UnprojectableEvent if it belongs to no ticket."""
    projection = PROJECTIONS.get(type(envelope.payload))
    if projection is None:
        raise UnprojectableEvent(f"the read model has no projection for {envelope.type}")
    return projection(envelope)


def project_created(envelope: Envelope[TicketCreated]) -> ReadModelWrite:
    event = envelope.payload
    ticket = {
        "subject": event.subject,
        "status": TicketStatus.NEW.value,
        "priority": event.priority.value,
        "channel": event.channel.value,
        "requester": {"email": event.requester.email, "name": event.requester.name},
        "customer_id": event.customer_id,
        "assignee_id": None,
        "team": None,
        "category": None,
        "queue": None,
        "tags": list(event.tags),
        "messages": [
            _message(
                envelope,
                message_id=event.message_id,
                author_kind=AuthorKind.CUSTOMER,
                author_id=event.requester.email,
                body=event.body,
                public=True,
            )
        ],
        "message_ids": [event.message_id],
        "applied_event_ids": [str(envelope.id)],
        "created_at": _timestamp(envelope),
        "updated_at": _timestamp(envelope),
    }
    ticket_id = _ticket_id(envelope)
    return ReadModelWrite(ticket_id, {"_id": ticket_id}, {"$setOnInsert": ticket}, upsert=True)


def project_message_added(envelope: Envelope[TicketMessageAdded]) -> ReadModelWrite:
    event = envelope.payload
    message = _message(
        envelope,
        message_id=event.message_id,
        author_kind=event.author_kind,
        author_id=event.author_id,
        body=event.body,
        public=event.public,
    )
    return _guarded(
        envelope,
        {},
        add_to_sets={"messages": message, "message_ids": event.message_id},
        when={"message_ids": {"$nin": [event.message_id]}},
    )


def project_status_changed(envelope: Envelope[TicketStatusChanged]) -> ReadModelWrite:
    return _guarded(envelope, {"status": envelope.payload.to_status.value})


def project_assigned(envelope: Envelope[TicketAssigned]) -> ReadModelWrite:
    event = envelope.payload
    changes: Document = {
        "assignee_id": event.agent_id,
        # Not shown by GET: lets a Slack button press name the agent who pressed it.
        "assignee_slack_user_id": event.slack_user_id,
        "queue": None,  # an assigned ticket waits in no queue
    }
    if event.team is not None:
        changes["team"] = event.team
    return _guarded(envelope, changes)


def project_unassigned(envelope: Envelope[TicketUnassigned]) -> ReadModelWrite:
    # Only if that agent still has it: a late unassignment must not take the ticket from the next agent.
    return _guarded(
        envelope,
        {"assignee_id": None, "assignee_slack_user_id": None},
        when={"assignee_id": envelope.payload.agent_id},
    )


def project_triaged(envelope: Envelope[TicketTriaged]) -> ReadModelWrite:
    event = envelope.payload
    changes: Document = {"priority": event.priority.value, "category": event.category}
    if event.team is not None:
        changes["team"] = event.team
    # Triage adds tags; the requester's own tags stay (TicketTriaged.tags defaults to none at all).
    tags = {"tags": {"$each": list(event.tags)}} if event.tags else {}
    return _guarded(envelope, changes, add_to_sets=tags)


def project_priority_changed(envelope: Envelope[TicketPriorityChanged]) -> ReadModelWrite:
    return _guarded(envelope, {"priority": envelope.payload.to_priority.value})


def project_queued(envelope: Envelope[TicketQueued]) -> ReadModelWrite:
    event = envelope.payload
    queue = {
        "team": event.team,
        "reason": event.reason,
        "required_skills": list(event.required_skills),
        "since": _timestamp(envelope),
    }
    return _guarded(envelope, {"queue": queue})


def project_assignment_answered(envelope: Envelope[TicketAssignmentAnswered]) -> ReadModelWrite:
    # The answer itself changes nothing the ticket shows; what the router does about it
    # (ticket.unassigned, a new ticket.assigned) does. Recorded as applied, and as an update.
    return _guarded(envelope, {})


# What each clock event makes of the clock's state; the view shows running, paused, breached or met.
SLA_STATES: Mapping[type[EventPayload], str] = {
    SlaStarted: "running",
    SlaResumed: "running",
    SlaWarning: "running",
    SlaPaused: "paused",
    SlaBreached: "breached",
    SlaMet: "met",
}


def project_sla_clock(envelope: Envelope) -> ReadModelWrite:
    """`sla.<metric>` of the ticket takes the clock as this event tells it, unless a newer one was applied.

    Fields the event does not speak of stay: a paused or resumed clock is still warned, a breached
    one still shows its warning. `sla.started` begins a clock afresh (a new next reply, a re-target),
    so it clears both `warned` and `within_target`.
    """
    event = envelope.payload
    if type(event) not in SLA_STATES:
        raise UnprojectableEvent(f"{envelope.type} is not an SLA clock event")
    metric = event.metric.value
    stamp = _timestamp(envelope)
    clock: Document = {
        "metric": metric,
        "policy": event.policy,
        # As the event carries it on the wire: an ISO 8601 duration such as `PT4H`.
        "target": event.model_dump(mode="json", include={"target"})["target"],
        "due_at": _iso(event.due_at) if event.due_at is not None else None,
        "state": SLA_STATES[type(event)],
        "updated_at": stamp,
    }
    if isinstance(event, SlaStarted):
        clock |= {"warned": False, "within_target": None}
    elif isinstance(event, SlaWarning):
        clock["warned"] = True
    elif isinstance(event, SlaMet):
        clock["within_target"] = event.within_target
    clock["updated_at_us"] = _microseconds(envelope.occurred_at)
    ticket_id = _ticket_id(envelope)
    event_id = str(envelope.id)
    at = f"sla.{metric}.updated_at_us"
    unapplied = {"_id": ticket_id, "applied_event_ids": {"$nin": [event_id]}}
    return ReadModelWrite(
        ticket_id=ticket_id,
        # The clock's first event (a clock written before `updated_at_us` existed also counts as none).
        filter={**unapplied, at: {"$exists": False}},
        # Equal times pass: two events of one instant apply in the order the topic keeps them. One
        # ticket's clock events are handled one at a time (one lane), so nothing comes between the two.
        else_filter={**unapplied, at: {"$lte": clock["updated_at_us"]}},
        # Field by field (dotted), so what this event does not say stays as it was. The ticket's own
        # `updated_at` stays too: it tells when the ticket changed, and a clock is not the ticket.
        update={
            "$set": {f"sla.{metric}.{name}": value for name, value in clock.items()},
            "$addToSet": {"applied_event_ids": event_id},
        },
    )


PROJECTIONS: Mapping[type[EventPayload], Callable[[Envelope], ReadModelWrite]] = {
    TicketCreated: project_created,
    TicketMessageAdded: project_message_added,
    TicketStatusChanged: project_status_changed,
    TicketAssigned: project_assigned,
    TicketUnassigned: project_unassigned,
    TicketPriorityChanged: project_priority_changed,
    TicketTriaged: project_triaged,
    TicketQueued: project_queued,
    TicketAssignmentAnswered: project_assignment_answered,
    **dict.fromkeys(SLA_STATES, project_sla_clock),
}


def _guarded(
    envelope: Envelope,
    changes: Document,
    *,
    add_to_sets: Document | None = None,
    when: Document | None = None,
) -> ReadModelWrite:
    """An update of an existing ticket that applies once per event id, and only `when` it holds."""
    ticket_id = _ticket_id(envelope)
    event_id = str(envelope.id)
    update: Document = {
        "$set": {**changes, "updated_at": _timestamp(envelope)},
        "$addToSet": {**(add_to_sets or {}), "applied_event_ids": event_id},
    }
    return ReadModelWrite(
        ticket_id=ticket_id,
        filter={"_id": ticket_id, "applied_event_ids": {"$nin": [event_id]}, **(when or {})},
        update=update,
    )


def _message(
    envelope: Envelope,
    *,
    message_id: str,
    author_kind: AuthorKind,
    author_id: str | None,
    body: str,
    public: bool,
) -> Document:
    message: Document = {
        "message_id": message_id,
        "author_kind": author_kind.value,
        "author_id": author_id,
        "channel": envelope.payload.channel.value,
        "body": body,
        "public": public,
        "created_at": _timestamp(envelope),
    }
    attachments = getattr(envelope.payload, "attachments", ())
    if attachments:  # only where there are any: most messages have none
        message["attachments"] = [attachment.model_dump() for attachment in attachments]
    return message


def _timestamp(envelope: Envelope) -> str:
    """`2026-11-23T09:30:00.000000+00:00`: when the event happened."""
    return _iso(envelope.occurred_at)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _microseconds(moment: datetime) -> int:
    """Microseconds since the epoch: a time the guards compare as a number."""
    return (moment.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)


def _iso(moment: datetime) -> str:
    """Fixed width in UTC, so stored times sort and compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _ticket_id(envelope: Envelope) -> str:
    if not envelope.ticket_id:
        raise UnprojectableEvent(f"{envelope.type} {envelope.id} has no ticket_id")
    return envelope.ticket_id
