"""The notifier on the real broker, MongoDB and Redis, with the SMTP capture and the Slack fake."""

from __future__ import annotations

import logging

import pytest

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import Envelope, Requester, encode
from helpdesk_notifier.settings import Settings
from tests.conftest import SLACK_TEST_TOKEN
from tests.integration.notifier.conftest import RunningNotifier
from tests.integration.notifier.events import (
    mail_for,
    new_slack_user_id,
    new_ticket_id,
    posts_to,
    slack_failing,
    ticket_assigned,
    ticket_created,
)

pytestmark = pytest.mark.integration


def sent_for(notifier: RunningNotifier, ticket_id: str) -> list[Envelope]:
    envelopes = notifier.notifications.envelopes
    return [e for e in envelopes if e.type == "notification.sent" and e.ticket_id == ticket_id]


async def test_a_new_ticket_is_acknowledged_to_its_requester_by_email(
    notifier_settings: Settings, run_notifier, smtp_capture: SmtpCapture
) -> None:
    ticket_id = new_ticket_id()
    created = ticket_created(ticket_id)
    requester = created.payload.requester.email

    async with run_notifier(notifier_settings) as notifier:
        ready = await notifier.http.get("/readyz")
        await notifier.tickets.publish(created)
        mail = await smtp_capture.wait_for_async(mail_for(ticket_id), timeout=15)
        sent = await notifier.notifications.wait_for(
            "notification.sent", lambda e: e.payload.trigger_event_id == created.id
        )
        [delivery] = await notifier.deliveries(ticket_id)
        too_many = await notifier.http.get("/v1/deliveries", params={"limit": 1001})

    assert ready.status_code == 200
    assert ready.json()["checks"] == {"kafka": "ok", "mongodb": "ok", "redis": "ok"}

    assert mail["X-RcptTo"] == requester
    assert mail["To"] == f"Ada Lovelace <{requester}>"
    assert mail["From"] == "Support <support@helpdesk.test>"
    assert mail["Subject"] == f"[#{ticket_id}] We received your request: Printer on fire"
    message_id = mail["Message-ID"]
    assert message_id.startswith("<") and message_id.endswith("@helpdesk.test>")
    assert {part.get_content_type() for part in mail.iter_parts()} == {"text/plain", "text/html"}

    assert sent.ticket_id == ticket_id
    assert sent.source == "notifier"
    assert sent.payload.channel == "email"
    assert sent.payload.recipient == requester
    assert sent.payload.external_id == message_id
    assert sent.payload.attempts == 1
    assert sent.payload.delivery_key == f"{created.id}:email:{requester}"

    assert delivery["delivery_key"] == sent.payload.delivery_key
    assert (delivery["channel"], delivery["kind"], delivery["status"]) == ("email", "acknowledgement", "sent")
    assert delivery["external_id"] == message_id
    assert delivery["trigger_event_id"] == str(created.id)
    assert delivery["trigger_event_type"] == "ticket.created"
    assert delivery["content"]["subject"] == mail["Subject"]
    assert delivery["content"]["message_id"] == message_id

    assert too_many.status_code == 422


async def test_an_assignment_is_posted_to_the_agent_and_replayed_events_send_nothing_more(
    notifier_settings: Settings, run_notifier, smtp_capture: SmtpCapture, fake_slack: FakeSlack
) -> None:
    ticket_id = new_ticket_id()
    agent, next_agent = new_slack_user_id(), new_slack_user_id()
    created, assigned = ticket_created(ticket_id), ticket_assigned(ticket_id, agent)

    async with run_notifier(notifier_settings) as notifier:
        await notifier.tickets.publish(created)
        await notifier.tickets.publish(assigned)
        call = await fake_slack.wait_for_call_async("chat.postMessage", posts_to(agent), timeout=15)
        sent = await notifier.notifications.wait_for(
            "notification.sent", lambda e: e.payload.trigger_event_id == assigned.id
        )

        # The same envelopes again, then a reassignment of the same ticket: one partition keeps
        # them in order, so once the reassignment is posted the replays have been handled.
        await notifier.tickets.publish(created)
        await notifier.tickets.publish(assigned)
        reassigned = ticket_assigned(ticket_id, next_agent, agent_id="a2")
        await notifier.tickets.publish(reassigned)
        await fake_slack.wait_for_call_async("chat.postMessage", posts_to(next_agent), timeout=15)
        # The new agent's own post (the first agent's message is updated under the same trigger, first).
        await notifier.notifications.wait_for(
            "notification.sent",
            lambda e: e.payload.trigger_event_id == reassigned.id and e.payload.recipient == next_agent,
        )
        deliveries = await notifier.deliveries(ticket_id)

    assert call["headers"]["Authorization"] == f"Bearer {SLACK_TEST_TOKEN}"
    body = call["body"]
    assert body["channel"] == agent
    assert body["text"].startswith(f"Ticket #{ticket_id} is assigned to you: Printer on fire")
    fields = [field["text"] for field in body["blocks"][2]["fields"]]
    assert fields == [
        f"*Requester*\nAda Lovelace &lt;{created.payload.requester.email}&gt;",
        "*Channel*\nweb",
        "*Priority*\nhigh",
        "*SLA due*\nno SLA clock",
        f"*Ticket*\n<http://localhost:8001/v1/tickets/{ticket_id}|#{ticket_id}>",
    ]
    assert sent.payload.channel == "slack"
    assert sent.payload.recipient == agent
    assert sent.payload.external_id == call["response"]["ts"]

    assert len([c for c in fake_slack.calls("chat.postMessage") if posts_to(agent)(c)]) == 1
    assert len([m for m in smtp_capture.messages if mail_for(ticket_id)(m)]) == 1
    # The acknowledgement, the assignment, the first agent's message updated on the reassignment (its
    # buttons taken off) and the reassignment: none for the replays.
    assert len(sent_for(notifier, ticket_id)) == 4

    first_post = f"{call['response']['channel']}/{call['response']['ts']}"
    assert [(d["kind"], d["recipient"], d["status"]) for d in deliveries] == [
        ("assignment", next_agent, "sent"),
        ("assignment_update", first_post, "sent"),
        ("assignment", agent, "sent"),
        ("acknowledgement", created.payload.requester.email, "sent"),
    ]
    assert deliveries[2]["external_id"] == call["response"]["ts"]
    assert deliveries[2]["content"]["blocks"] == body["blocks"]


async def test_a_rate_limited_post_waits_as_slack_asks_and_arrives_once(
    notifier_settings: Settings, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    assigned = ticket_assigned(ticket_id, agent)

    async with run_notifier(notifier_settings) as notifier:
        with slack_failing(fake_slack, 2, status=429, retry_after=1):
            await notifier.tickets.publish(assigned)
            sent = await notifier.notifications.wait_for(
                "notification.sent", lambda e: e.payload.trigger_event_id == assigned.id, timeout=20
            )
        [delivery] = await notifier.deliveries(ticket_id)

    calls = [c for c in fake_slack.calls("chat.postMessage") if posts_to(agent)(c)]
    assert [c["status"] for c in calls] == [429, 429, 200]
    # Our own backoff is at most 0.05 s in this test: waits of a second are Slack's Retry-After.
    assert calls[1]["at"] - calls[0]["at"] >= 1.0
    assert calls[2]["at"] - calls[1]["at"] >= 1.0
    assert sent.payload.attempts == 3
    assert sent.payload.external_id == calls[2]["response"]["ts"]
    assert (delivery["status"], delivery["attempts"]) == ("sent", 3)
    assert delivery["last_error"] == "HTTP 429: Slack: ratelimited"


async def test_a_post_that_keeps_failing_ends_failed_announced_and_dead_lettered(
    notifier_settings: Settings, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    assigned = ticket_assigned(ticket_id, agent)

    async with run_notifier(notifier_settings) as notifier:
        with slack_failing(fake_slack, 1000, status=500):
            await notifier.tickets.publish(assigned)
            failed = await notifier.notifications.wait_for(
                "notification.failed", lambda e: e.payload.trigger_event_id == assigned.id
            )
            [dead] = await notifier.dead_letters.wait_for_records(lambda r: r.value == encode(assigned))
        [delivery] = await notifier.deliveries(ticket_id)

    calls = [c for c in fake_slack.calls("chat.postMessage") if posts_to(agent)(c)]
    assert [c["status"] for c in calls] == [500, 500, 500]  # delivery_max_attempts
    assert failed.payload.attempts == 3
    assert failed.payload.error == "gave up after 3 attempts: HTTP 500: Slack: internal_error"
    assert dead.key == ticket_id.encode()
    headers = dict(dead.headers)
    assert headers["dlq-reason"] == b"rejected"
    assert headers["dlq-service"] == b"notifier"
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    assert delivery["last_error"] == failed.payload.error
    assert sent_for(notifier, ticket_id) == []


async def test_without_a_slack_token_messages_are_recorded_and_agents_without_slack_skipped(
    notifier_settings: Settings, run_notifier, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="helpdesk_notifier.recording")
    settings = notifier_settings.model_copy(update={"slack_bot_token": None})
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    no_slack = ticket_assigned(ticket_id, None, agent_id="a-no-slack")
    assigned = ticket_assigned(ticket_id, agent)

    async with run_notifier(settings) as notifier:
        await notifier.tickets.publish(no_slack)
        await notifier.tickets.publish(assigned)  # same ticket, same partition: handled after no_slack
        sent = await notifier.notifications.wait_for(
            "notification.sent", lambda e: e.payload.trigger_event_id == assigned.id
        )
        recorded, skipped = await notifier.deliveries(ticket_id)

    assert [c for c in fake_slack.calls() if posts_to(agent)(c)] == []
    assert sent.payload.external_id is None
    assert (recorded["status"], recorded["recipient"], recorded["external_id"]) == ("recorded", agent, None)
    assert recorded["content"]["channel"] == agent
    assert recorded["content"]["text"].startswith(f"Ticket #{ticket_id} is assigned to you")
    assert recorded["content"]["blocks"][0]["text"]["text"] == f"Ticket #{ticket_id} assigned to you"
    assert (skipped["status"], skipped["recipient"]) == ("skipped", "agent:a-no-slack")
    assert skipped["reason"] == "agent a-no-slack has no slack_user_id"
    lines = [r.getMessage() for r in caplog.records if r.name == "helpdesk_notifier.recording"]
    assert len(lines) == 1 and agent in lines[0]


async def test_a_requester_without_an_email_is_not_mailed(
    notifier_settings: Settings, run_notifier, smtp_capture: SmtpCapture
) -> None:
    """A caller's ticket has a stand-in address under `.invalid`: recorded as skipped, nothing sent."""
    caller, mailed = new_ticket_id(), new_ticket_id()
    no_email = ticket_created(caller, channel="voice", requester=Requester(email="+33612345678@phone.invalid"))
    async with run_notifier(notifier_settings) as notifier:
        await notifier.tickets.publish(no_email)
        await notifier.tickets.publish(ticket_created(mailed))  # a later ticket still gets its email
        await smtp_capture.wait_for_async(mail_for(mailed), timeout=15)
        [delivery] = await notifier.deliveries(caller)
    assert (delivery["status"], delivery["recipient"]) == ("skipped", "+33612345678@phone.invalid")
    assert delivery["reason"] == "the requester has no email address (voice contact)"
    assert not [m for m in smtp_capture.messages if m["X-RcptTo"] == "+33612345678@phone.invalid"]
