"""What erasing a customer does to their tickets, and the event that announces it (pure)."""

from __future__ import annotations

from helpdesk_intake.erasure import ERASED, ERASED_TEXT, erase_ticket, erasure_event

AGENT_REPLY = {
    "message_id": "M-2",
    "author_kind": "agent",
    "author_id": "agent-7",
    "channel": "api",
    "body": "Have you tried water?",
    "public": True,
}
TICKET = {
    "_id": "T-1",
    "subject": "Printer on fire",
    "requester": {"email": "ada@example.com", "name": "Ada"},
    "customer_id": "C-1",
    "messages": [
        {
            "message_id": "M-1",
            "author_kind": "customer",
            "author_id": "ada@example.com",
            "channel": "email",
            "body": "Smoke everywhere. Call me on +44 1632 960983.",
            "public": True,
            "attachments": [{"filename": "ada-passport.pdf", "content_type": "application/pdf", "size": 9}],
        },
        AGENT_REPLY,
        {
            "message_id": "M-3",
            "author_kind": "customer",
            "author_id": "colleague@example.com",
            "channel": "email",
            "body": "Same here.",
            "public": True,
        },
    ],
}
EVENT = erasure_event("C-1", ["email:ada@example.com", "phone:+441632960983", "social:twitter:ada"])


def test_the_event_sorts_identity_keys_by_kind() -> None:
    assert (EVENT.customer_id, EVENT.emails, EVENT.phones, EVENT.handles) == (
        "C-1",
        ("ada@example.com",),
        ("+441632960983",),
        ("twitter:ada",),
    )
    assert EVENT.partition_key() == "C-1"


def test_the_customer_goes_and_the_agents_work_stays() -> None:
    changes = erase_ticket(TICKET)
    assert changes["requester"] == {"email": ERASED, "name": None}
    assert changes["subject"] == ERASED_TEXT
    first, reply, colleague = changes["messages"]
    assert first["body"] == ERASED_TEXT and first["author_id"] is None
    assert first["attachments"] == [{"filename": None, "content_type": "application/pdf", "size": 9}]
    assert reply == AGENT_REPLY
    assert colleague["body"] == ERASED_TEXT  # about this customer's case: it may quote them


def test_erasing_twice_is_erasing_once() -> None:
    once = erase_ticket(TICKET)
    assert erase_ticket({**TICKET, **once}) == once
