"""One valid payload of every event type, for contract tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from helpdesk_events import (
    AgentStatusChanged,
    Attachment,
    AuthorKind,
    CustomerErased,
    FeedbackFollowUpRequested,
    FeedbackReceived,
    NotificationFailed,
    NotificationSent,
    Requester,
    SlaBreached,
    SlaMet,
    SlaPaused,
    SlaResumed,
    SlaStarted,
    SlaWarning,
    SurveySent,
    TicketAssigned,
    TicketAssignmentAnswered,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketQueued,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
)
from helpdesk_events.envelope import EventPayload

DUE = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
CLOCK = {"policy": "standard", "metric": "first_reply", "target": timedelta(hours=4), "due_at": DUE}
DELIVERY = {
    "delivery_key": "e1:slack:U1",
    "channel": "slack",
    "recipient": "U1",
    "trigger_event_id": uuid.UUID(int=1),
    "trigger_event_type": "ticket.assigned",
    "attempts": 1,
}


def sample_payloads() -> list[EventPayload]:
    return [
        TicketCreated(
            subject="Printer on fire",
            body="It is on fire.",
            requester=Requester(email="ada@example.com", name="Ada"),
            channel="web",
            message_id="m-1",
            tags=("hardware",),
            language="pt-br",
            customer_tier="gold",
        ),
        TicketMessageAdded(
            message_id="m-2",
            author_kind=AuthorKind.CUSTOMER,
            author_id="ada@example.com",
            channel="email",
            body="Photo attached",
            attachments=(Attachment(filename="fire.jpg", content_type="image/jpeg", size=48213),),
        ),
        TicketStatusChanged(from_status="new", to_status="open", changed_by="router"),
        TicketTriaged(priority="high", category="hardware", required_skills=("printers",), matched_rules=("fire",)),
        TicketAssigned(agent_id="a1", agent_name="Grace", agent_email="grace@example.com", slack_user_id="U1"),
        TicketAssignmentAnswered(answer="declined", slack_user_id="U1", channel="slack"),
        TicketPriorityChanged(
            from_priority="normal", to_priority="high", reason="first_reply breached (policy standard)",
            changed_by="sla",
        ),
        TicketQueued(reason="no online agent with free capacity"),
        TicketUnassigned(agent_id="a1", reason="agent_away"),
        AgentStatusChanged(agent_id="a1", from_status="online", to_status="away"),
        SlaStarted(**CLOCK),
        SlaPaused(**{**CLOCK, "due_at": None}),
        SlaResumed(**CLOCK),
        SlaWarning(**CLOCK, elapsed_share=0.75),
        SlaBreached(**CLOCK, late=True),
        SlaMet(**CLOCK, within_target=True, elapsed=timedelta(minutes=30)),
        SurveySent(survey_id="s1", kind="csat", requester_email="ada@example.com", survey_url="http://x/s/1"),
        FeedbackReceived(survey_id="s1", kind="csat", score=5, comment="Thanks!"),
        FeedbackFollowUpRequested(survey_id="s1", kind="nps", score=3, comment="Slow.", team="billing", reopen=True),
        NotificationSent(**DELIVERY, external_id="1712345678.000100"),
        NotificationFailed(**DELIVERY, error="HTTP 500"),
        CustomerErased(
            customer_id="5f0c9a4e-1b2d-4c3e-8f7a-6b5d4c3b2a19",
            emails=("ada@example.com",),
            phones=("+441632960983",),
            handles=("twitter:ada",),
        ),
    ]
