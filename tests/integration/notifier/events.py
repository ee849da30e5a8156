"""Trigger events as intake and the router publish them, with ids unique to each test, and predicates."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from devtools.fake_slack import FakeSlack
from helpdesk_events import Envelope, Requester, TicketAssigned, TicketCreated, new_envelope


def new_ticket_id() -> str:
    return f"T-{uuid.uuid4().hex[:10]}"


def new_slack_user_id() -> str:
    return f"U{uuid.uuid4().hex[:10].upper()}"


def ticket_created(ticket_id: str, **changes: object) -> Envelope[TicketCreated]:
    fields: dict[str, object] = {
        "subject": "Printer on fire",
        "body": "It is on fire.",
        "requester": Requester(email=f"ada-{ticket_id.lower()}@example.com", name="Ada Lovelace"),
        "channel": "web",
        "message_id": f"m-{ticket_id}",
        "priority": "high",
    }
    return new_envelope(TicketCreated(**{**fields, **changes}), source="intake", ticket_id=ticket_id)


def ticket_assigned(
    ticket_id: str, slack_user_id: str | None, agent_id: str = "a1"
) -> Envelope[TicketAssigned]:
    payload = TicketAssigned(
        agent_id=agent_id, agent_name="Grace", slack_user_id=slack_user_id, team="hardware"
    )
    return new_envelope(payload, source="router", ticket_id=ticket_id)


def mail_for(ticket_id: str):  # noqa: ANN201 - a predicate for SmtpCapture.wait_for
    def matches(message: EmailMessage) -> bool:
        return message["X-Helpdesk-Ticket-Id"] == ticket_id

    return matches


def posts_to(slack_user_id: str):  # noqa: ANN201 - a predicate for FakeSlack.wait_for_call
    def matches(call: dict) -> bool:
        return call["body"].get("channel") == slack_user_id

    return matches


@contextmanager
def slack_failing(fake_slack: FakeSlack, count: int, status: int, retry_after: int = 1) -> Iterator[None]:
    """The next `count` posts fail; the session's fake is shared, so the rest is cleared on the way out."""
    fake_slack.fail_next(count, status=status, retry_after=retry_after, method="chat.postMessage")
    try:
        yield
    finally:
        fake_slack.fail_next(0)
