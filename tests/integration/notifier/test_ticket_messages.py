"""What agents and customers see over a ticket's life, on the real servers with the Slack fake and
the SMTP capture: the assignment message and its updates, replies by email in the thread, SLA
alerts and shout-outs in the team's channel, survey invitations, status emails, team senders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import (
    AssignmentAnswer,
    FeedbackReceived,
    SlaMetric,
    SlaStarted,
    SlaWarning,
    SurveyKind,
    SurveySent,
    TicketAssignmentAnswered,
    TicketMessageAdded,
    TicketStatus,
    TicketStatusChanged,
    TicketUnassigned,
    new_envelope,
)
from helpdesk_notifier.settings import Settings
from tests.integration.notifier.events import (
    mail_for,
    new_slack_user_id,
    new_ticket_id,
    ticket_assigned,
    ticket_created,
)

pytestmark = pytest.mark.integration

ROUTES = """\
slack:
  team_channels:
    hardware: {channel}
email:
  teams:
    hardware:
      from: "Hardware Support <hardware@helpdesk.test>"
      reply_to: "hardware-replies@helpdesk.test"
"""


@pytest.fixture
def routed_settings(notifier_settings: Settings, tmp_path: Path) -> Settings:
    channel = f"C{new_ticket_id()[2:].upper()}"
    path = tmp_path / "routes.yaml"
    path.write_text(ROUTES.format(channel=channel))
    return notifier_settings.model_copy(
        update={"notifier_routes_file": path, "slack_channel_interval_seconds": 0.05}
    )


def team_channel(settings: Settings) -> str:
    assert settings.notifier_routes_file is not None
    return settings.notifier_routes_file.read_text().split("hardware: ")[1].split()[0]


def event(payload, ticket_id: str, source: str = "intake"):  # type: ignore[no-untyped-def]
    return new_envelope(payload, source=source, ticket_id=ticket_id)


def action_ids(call: dict) -> list[str]:
    blocks = call["body"].get("blocks") or []
    return [element["action_id"] for block in blocks if block.get("type") == "actions" for element in block["elements"]]


def button_values(call: dict) -> set[str]:
    blocks = call["body"].get("blocks") or []
    return {element["value"] for block in blocks if block.get("type") == "actions" for element in block["elements"]}


async def test_the_assignment_message_has_buttons_that_follow_the_ticket(
    routed_settings: Settings, run_notifier, fake_slack: FakeSlack, smtp_capture: SmtpCapture
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    async with run_notifier(routed_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent, agent_id="grace"))
        post = await fake_slack.wait_for_call_async(
            "chat.postMessage", lambda call: ticket_id in str(call["body"].get("blocks")), timeout=15
        )
        assert action_ids(post) == ["ticket_accept", "ticket_solve", "ticket_reassign", "ticket_decline"]
        assert button_values(post) == {ticket_id}

        accepted = TicketAssignmentAnswered(answer=AssignmentAnswer.ACCEPTED, agent_id="grace", channel="slack")
        await notifier.tickets.publish(event(accepted, ticket_id))
        after_accept = await fake_slack.wait_for_call_async(
            "chat.update", lambda call: ticket_id in str(call["body"].get("blocks")), timeout=15
        )
        assert action_ids(after_accept) == ["ticket_solve", "ticket_reassign"]

        solved = TicketStatusChanged(from_status=TicketStatus.OPEN, to_status=TicketStatus.SOLVED, changed_by="grace")
        await notifier.tickets.publish(event(solved, ticket_id))
        after_solve = await fake_slack.wait_for_call_async(
            "chat.update",
            lambda call: ticket_id in str(call["body"].get("blocks")) and not action_ids(call),
            timeout=15,
        )
        solved_mail = await smtp_capture.wait_for_async(
            lambda m: mail_for(ticket_id)(m) and "received your request" not in m["Subject"],
            timeout=15,
        )

    # Updates go to the conversation and message the post landed in.
    assert (after_solve["body"]["channel"], after_solve["body"]["ts"]) == (
        after_accept["body"]["channel"],
        after_accept["body"]["ts"],
    )
    assert f"[#{ticket_id}]" in solved_mail["Subject"]
    assert solved_mail["From"] == "Hardware Support <hardware@helpdesk.test>"  # the ticket's team
    assert solved_mail["Reply-To"] == "hardware-replies@helpdesk.test"


async def test_a_reassigned_ticket_takes_the_buttons_off_the_first_agent_s_message(
    routed_settings: Settings, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, first, second = new_ticket_id(), new_slack_user_id(), new_slack_user_id()
    async with run_notifier(routed_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, first, agent_id="ada"))
        await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]), timeout=15)
        await notifier.tickets.publish(event(TicketUnassigned(agent_id="ada", reason="declined"), ticket_id, "router"))
        await notifier.tickets.publish(ticket_assigned(ticket_id, second, agent_id="bob"))
        posts = [c for c in fake_slack.calls("chat.postMessage") if ticket_id in str(c["body"])]
        await fake_slack.wait_for_call_async(
            "chat.postMessage", lambda c: ticket_id in str(c["body"]) and c not in posts, timeout=15
        )
        await fake_slack.wait_for_call_async(
            "chat.update", lambda c: ticket_id in str(c["body"]) and not action_ids(c), timeout=15
        )
        posted = [c for c in fake_slack.calls("chat.postMessage") if ticket_id in str(c["body"])]

    assert len(posted) == 2
    assert action_ids(posted[1]) == ["ticket_accept", "ticket_solve", "ticket_reassign", "ticket_decline"]
    # The first agent's message never offers buttons again once the ticket left them.
    first_updates = [c for c in fake_slack.calls("chat.update") if c["body"]["ts"] == posted[0]["response"]["ts"]]
    assert first_updates and not action_ids(first_updates[-1])


async def test_an_agent_reply_reaches_the_requester_in_the_mail_thread_and_a_note_does_not(
    routed_settings: Settings, run_notifier, smtp_capture: SmtpCapture
) -> None:
    ticket_id = new_ticket_id()
    customer_mail = f"<{ticket_id}.first@customer.example.com>"
    async with run_notifier(routed_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id, channel="email", message_id=customer_mail))
        await notifier.tickets.publish(ticket_assigned(ticket_id, new_slack_user_id(), agent_id="grace"))
        note = TicketMessageAdded(message_id="n1", author_kind="agent", author_id="grace", channel="api",
                                  body="internal: check the warranty", public=False)  # fmt: skip
        reply = TicketMessageAdded(message_id="r1", author_kind="agent", author_id="grace", channel="api",
                                   body="Please unplug it <now> & wait.")  # fmt: skip
        await notifier.tickets.publish(event(note, ticket_id))
        await notifier.tickets.publish(event(reply, ticket_id))
        mail = await smtp_capture.wait_for_async(
            lambda m: mail_for(ticket_id)(m) and "unplug" in m.get_body(("plain",)).get_content(), timeout=15
        )
        deliveries = await notifier.deliveries(ticket_id)

    assert mail["In-Reply-To"] == customer_mail
    assert customer_mail in mail["References"]
    assert f"[#{ticket_id}]" in mail["Subject"]
    assert mail["Reply-To"] == "hardware-replies@helpdesk.test"
    assert "Please unplug it <now> & wait." in mail.get_body(("plain",)).get_content()
    assert "&lt;now&gt; &amp; wait" in mail.get_body(("html",)).get_content()
    kinds = sorted(d["kind"] for d in deliveries if d["channel"] == "email")
    assert kinds == ["acknowledgement", "agent_reply"]  # the note stayed inside


async def test_an_sla_warning_goes_to_the_team_channel_mentioning_the_assignee(
    routed_settings: Settings, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    channel = team_channel(routed_settings)
    due = datetime.now(UTC) + timedelta(minutes=15)
    clock = {"policy": "standard", "metric": SlaMetric.FIRST_REPLY, "target": timedelta(hours=1), "due_at": due}
    async with run_notifier(routed_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent, agent_id="grace"))
        # SLA events come on their own topic, read beside the tickets topic: once the agent's message
        # is out, the notifier knows the ticket's team and assignee.
        await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]), timeout=15)
        await notifier.tickets.publish(event(SlaStarted(**clock), ticket_id, "sla"))
        await notifier.tickets.publish(event(SlaWarning(**clock, elapsed_share=0.75), ticket_id, "sla"))
        alert = await fake_slack.wait_for_call_async(
            "chat.postMessage", lambda c: c["body"].get("channel") == channel, timeout=15
        )

    assert f"<@{agent}>" in str(alert["body"])
    assert ticket_id in str(alert["body"])
    # The SLA clock's due time also shows on the agent's message, updated in place.
    updated = [c for c in fake_slack.calls("chat.update") if ticket_id in str(c["body"])]
    assert updated and due.strftime("%H:%M") in str(updated[-1]["body"]["blocks"])


async def test_praise_with_a_comment_is_shared_in_the_team_channel_and_a_low_score_is_not(
    routed_settings: Settings, run_notifier, fake_slack: FakeSlack, smtp_capture: SmtpCapture
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    channel = team_channel(routed_settings)
    async with run_notifier(routed_settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent, agent_id="grace"))
        await fake_slack.wait_for_call_async("chat.postMessage", lambda c: ticket_id in str(c["body"]), timeout=15)
        survey = SurveySent(survey_id="s1", kind=SurveyKind.CSAT, requester_email=f"ada-{ticket_id.lower()}@example.com",
                            survey_url=f"http://feedback.test/s/{ticket_id}?t=abc", agent_id="grace", team="hardware")  # fmt: skip
        await notifier.tickets.publish(event(survey, ticket_id, "feedback"))
        invitation = await smtp_capture.wait_for_async(
            lambda m: mail_for(ticket_id)(m) and "feedback.test" in m.get_body(("plain",)).get_content(), timeout=15
        )
        low = FeedbackReceived(survey_id="s1", kind=SurveyKind.CSAT, score=2, comment="slow", agent_id="grace",
                               team="hardware")  # fmt: skip
        high = FeedbackReceived(survey_id="s1", kind=SurveyKind.CSAT, score=5, comment="Grace saved my <day>!",
                                agent_id="grace", team="hardware")  # fmt: skip
        await notifier.tickets.publish(event(low, ticket_id, "feedback"))
        await notifier.tickets.publish(event(high, ticket_id, "feedback"))
        shout = await fake_slack.wait_for_call_async(
            "chat.postMessage", lambda c: c["body"].get("channel") == channel, timeout=15
        )
        deliveries = await notifier.deliveries(ticket_id)

    assert f"http://feedback.test/s/{ticket_id}?t=abc" in invitation.get_body(("plain",)).get_content()
    assert "Grace saved my &lt;day&gt;!" in str(shout["body"])
    assert [d["kind"] for d in deliveries if d["kind"] == "shout_out"] == ["shout_out"]
