"""Surveys and low scores on the real servers with the Slack fake and the SMTP capture: the survey
invitation carries its one-click rating links, and a low score reaches the team lead once.

Feedback events of one ticket share a partition of the feedback topic, read in order: a shout-out
published last, once posted, shows that everything published before it (replays included) was handled.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import (
    Envelope,
    FeedbackFollowUpRequested,
    FeedbackReceived,
    RatingLink,
    SurveyKind,
    SurveySent,
    new_envelope,
)
from helpdesk_notifier.settings import Settings
from tests.integration.notifier.events import (
    mail_for,
    new_slack_user_id,
    new_ticket_id,
    posts_to,
    ticket_assigned,
    ticket_created,
)
from tests.support.waiting import until

pytestmark = pytest.mark.integration

ROUTES = """\
slack:
  team_channels: {{hardware: {channel}}}
  team_leads: {{hardware: {lead}}}
"""


class Routed:
    """The notifier's settings with a routes file naming the hardware team's channel and lead."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.channel = f"C{new_ticket_id()[2:].upper()}"
        self.lead = new_slack_user_id()
        path = tmp_path / "routes.yaml"
        path.write_text(ROUTES.format(channel=self.channel, lead=self.lead))
        self.settings = settings.model_copy(update={"notifier_routes_file": path})


@pytest.fixture
def routed(notifier_settings: Settings, tmp_path: Path) -> Routed:
    return Routed(notifier_settings, tmp_path)


def feedback_event(payload, ticket_id: str) -> Envelope:  # type: ignore[no-untyped-def]
    return new_envelope(payload, source="feedback", ticket_id=ticket_id)


def praise(ticket_id: str) -> Envelope[FeedbackReceived]:
    """The customer changes their mind: a shout-out in the team's channel, published last as a barrier."""
    answer = FeedbackReceived(survey_id=f"s-{ticket_id}", kind=SurveyKind.CSAT, score=5,
                              comment=f"Thanks {ticket_id}", agent_id="grace", team="hardware", revision=2,
                              previous_score=2)  # fmt: skip
    return feedback_event(answer, ticket_id)


def about(ticket_id: str, channel: str):  # noqa: ANN201 - a predicate for FakeSlack.wait_for_call
    return lambda call: posts_to(channel)(call) and ticket_id in str(call["body"])


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value or "" for name, value in attrs if tag == "a" and name == "href"]


def hrefs(html: str) -> list[str]:
    parser = _Hrefs()
    parser.feed(html)
    return parser.hrefs


async def test_a_survey_with_rating_links_is_one_email_carrying_every_link_in_html_and_text(
    routed: Routed, run_notifier, fake_slack: FakeSlack, smtp_capture: SmtpCapture
) -> None:
    ticket_id = new_ticket_id()
    requester = f"ada-{ticket_id.lower()}@example.com"
    links = tuple(
        RatingLink(score=score, url=f"http://feedback.test/r/{ticket_id}?score={score}&t=tok")
        for score in range(1, 6)
    )
    survey = SurveySent(
        survey_id=f"s-{ticket_id}", kind=SurveyKind.CSAT, requester_email=requester,
        survey_url=f"http://feedback.test/s/{ticket_id}?t=tok", agent_id="grace", team="hardware",
        rating_links=links, language="fr", expires_at=datetime(2030, 1, 15, 12, 0, tzinfo=UTC),
    )  # fmt: skip
    sent = feedback_event(survey, ticket_id)

    async with run_notifier(routed.settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await smtp_capture.wait_for_async(mail_for(ticket_id), timeout=15)  # the acknowledgement
        await notifier.tickets.publish(sent)
        await notifier.tickets.publish(sent)  # delivered twice
        await notifier.tickets.publish(praise(ticket_id))
        await fake_slack.wait_for_call_async("chat.postMessage", about(ticket_id, routed.channel), timeout=15)
        deliveries = await notifier.deliveries(ticket_id)

    invitations = [
        m for m in smtp_capture.messages
        if mail_for(ticket_id)(m) and survey.survey_url in m.get_body(("plain",)).get_content()
    ]  # fmt: skip
    assert len(invitations) == 1
    [mail] = invitations
    text, html = mail.get_body(("plain",)).get_content(), mail.get_body(("html",)).get_content()
    assert set(hrefs(html)) == {link.url for link in links} | {survey.survey_url}
    for link in links:
        # Each URL on its score's own line.
        assert text.split(link.url)[0].splitlines()[-1].strip().startswith(f"{link.score} - ")
    assert survey.survey_url in text
    # The ticket told no language: the survey's picks French.
    assert "Choisissez votre note" in text and "jusqu'au 15 janvier 2030" in text
    assert mail["X-RcptTo"] == requester
    assert [d["kind"] for d in deliveries if d["channel"] == "email"].count("survey_invitation") == 1


async def test_a_low_score_reaches_the_team_lead_once_even_when_the_event_comes_twice(
    routed: Routed, run_notifier, fake_slack: FakeSlack
) -> None:
    ticket_id, agent = new_ticket_id(), new_slack_user_id()
    follow_up = feedback_event(
        FeedbackFollowUpRequested(
            survey_id=f"s-{ticket_id}",
            kind=SurveyKind.CSAT,
            score=2,
            comment="Took a week <!channel>",
            agent_id="grace",
            team="hardware",
            reopen=True,
        ),  # fmt: skip
        ticket_id,
    )

    async with run_notifier(routed.settings) as notifier:
        await notifier.tickets.publish(ticket_created(ticket_id))
        await notifier.tickets.publish(ticket_assigned(ticket_id, agent, agent_id="grace"))
        # Feedback comes on its own topic: once the agent's message is out, the notifier knows the assignee.
        await fake_slack.wait_for_call_async("chat.postMessage", posts_to(agent), timeout=15)
        await notifier.tickets.publish(follow_up)
        await notifier.tickets.publish(follow_up)  # delivered twice
        await notifier.tickets.publish(praise(ticket_id))
        await fake_slack.wait_for_call_async("chat.postMessage", about(ticket_id, routed.channel), timeout=15)
        deliveries = await notifier.deliveries(ticket_id)

    to_lead = [c for c in fake_slack.calls("chat.postMessage") if about(ticket_id, routed.lead)(c)]
    assert len(to_lead) == 1
    body = to_lead[0]["body"]
    blocks = str(body["blocks"])
    assert body["text"].startswith(f"Low CSAT (2/5) on #{ticket_id}")
    assert "> Took a week &lt;!channel&gt;" in blocks and "<!channel>" not in str(body)
    assert f"<@{agent}>" in blocks
    assert "The ticket was reopened." in blocks
    follow_ups = [d for d in deliveries if d["kind"] == "follow_up"]
    assert [(d["recipient"], d["status"]) for d in follow_ups] == [(routed.lead, "sent")]
    # The team's channel got the shout-out only: with a lead configured, the low score went to the lead.
    assert not [c for c in fake_slack.calls("chat.postMessage") if about(ticket_id, routed.channel)(c)
                and "Low CSAT" in str(c["body"])]  # fmt: skip


async def test_a_low_score_with_nobody_to_tell_is_recorded_as_skipped_not_lost(
    routed: Routed, run_notifier
) -> None:
    ticket_id = new_ticket_id()
    # The routes name no lead, channel or default channel for "legal".
    low = FeedbackFollowUpRequested(survey_id=f"s-{ticket_id}", kind=SurveyKind.NPS, score=1, team="legal")

    async with run_notifier(routed.settings) as notifier:
        await notifier.tickets.publish(feedback_event(low, ticket_id))

        async def recorded() -> bool:
            return any(d["kind"] == "follow_up" for d in await notifier.deliveries(ticket_id))

        await until(recorded, timeout=15, what="the follow-up's delivery record", logs="")
        [delivery] = await notifier.deliveries(ticket_id)

    assert (delivery["channel"], delivery["status"]) == ("slack", "skipped")
    assert "legal" in delivery["reason"]
