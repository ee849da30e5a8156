"""What the notifier says in Slack: assignment messages whose buttons never lie, SLA alerts, shout-outs,
low-score follow-ups."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from helpdesk_events.slack_actions import TicketAction
from helpdesk_notifier.ports import ChatMessage
from helpdesk_notifier.slack_messages import (
    FIELD_TEXT_MAX,
    HEADER_MAX,
    SECTION_TEXT_MAX,
    BlockId,
    assignment_actions,
    compose_assignment,
    compose_follow_up,
    compose_shout_out,
    compose_sla_alert,
    escaped,
    is_shout_out,
    slack_escape,
    with_delivery_key,
)
from helpdesk_notifier.ticket_view import TicketView

DUE = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)
ALL_FOUR = [TicketAction.ACCEPT, TicketAction.SOLVE, TicketAction.REASSIGN, TicketAction.DECLINE]


def view(**changes: object) -> TicketView:
    fields: dict[str, object] = {
        "ticket_id": "T-42",
        "subject": "Printer on fire",
        "requester_email": "ada@example.com",
        "requester_name": "Ada Lovelace",
        "channel": "web",
        "priority": "high",
        "status": "open",
        "team": "hardware",
        "agent_id": "a1",
        "agent_name": "Grace",
        "slack_user_id": "U123",
        "sla_due": {"first_reply": DUE, "resolution": DUE + timedelta(hours=8)},
        "known": True,
    }
    return TicketView(**{**fields, **changes})  # type: ignore[arg-type]


def assignment(ticket: TicketView, for_agent: str = "a1", link: str | None = None) -> ChatMessage:
    return compose_assignment(ticket, for_agent=for_agent, slack_user_id="U123", link=link)


def block(message: ChatMessage, block_id: BlockId) -> dict | None:
    return next((b for b in message.blocks if b.get("block_id") == block_id.value), None)


def buttons(message: ChatMessage) -> list[str]:
    actions = block(message, BlockId.ACTIONS)
    return [element["action_id"] for element in actions["elements"]] if actions else []


def context(message: ChatMessage) -> str:
    return block(message, BlockId.CONTEXT)["elements"][0]["text"]


def mrkdwn_texts(node: object) -> list[str]:
    """Every mrkdwn text in the blocks: where Slack would turn `<...>` into a mention or a link
    (plain_text, as in the header, is shown as written)."""
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in mrkdwn_texts(value)]
    if isinstance(node, list | tuple):
        return [text for value in node for text in mrkdwn_texts(value)]
    return []


# ---- assignment: content -----------------------------------------------------------------------


def test_assignment_is_a_direct_message_summarizing_the_ticket() -> None:
    message = assignment(view(), link="https://desk.example.com/tickets/T-42")

    assert message.channel == "U123"
    assert message.text == (
        "Ticket #T-42 is assigned to you: Printer on fire "
        "(priority high, from Ada Lovelace &lt;ada@example.com&gt; via web)"
    )
    assert block(message, BlockId.HEADER)["text"] == {
        "type": "plain_text",
        "text": "Ticket #T-42 assigned to you",
    }
    assert block(message, BlockId.SUBJECT)["text"] == {"type": "mrkdwn", "text": "*Printer on fire*"}
    assert [field["text"] for field in block(message, BlockId.FIELDS)["fields"]] == [
        "*Requester*\nAda Lovelace &lt;ada@example.com&gt;",
        "*Channel*\nweb",
        "*Priority*\nhigh",
        "*SLA due*\n2026-11-23 17:30 UTC",  # the earliest running clock
        "*Ticket*\n<https://desk.example.com/tickets/T-42|#T-42>",
    ]
    assert context(message) == "Assigned to you · team hardware"
    assert message.metadata == {
        "event_type": "helpdesk_ticket_assigned",
        "event_payload": {"ticket_id": "T-42", "agent_id": "a1"},
    }


def test_sla_due_time_is_shown_in_utc_and_says_so_when_no_clock_runs() -> None:
    paris = timezone(timedelta(hours=1))
    in_paris = assignment(view(sla_due={"first_reply": datetime(2026, 11, 23, 18, 30, tzinfo=paris)}))
    assert block(in_paris, BlockId.FIELDS)["fields"][3]["text"] == "*SLA due*\n2026-11-23 17:30 UTC"

    paused = assignment(view(sla_due={"first_reply": None}))
    assert block(paused, BlockId.FIELDS)["fields"][3]["text"] == "*SLA due*\nno SLA clock"
    assert (
        block(assignment(view(sla_due={})), BlockId.FIELDS)["fields"][3]["text"] == "*SLA due*\nno SLA clock"
    )


def test_without_a_link_the_ticket_field_is_its_number() -> None:
    assert block(assignment(view()), BlockId.FIELDS)["fields"][4]["text"] == "*Ticket*\n#T-42"


def test_a_link_cannot_break_out_of_its_markup() -> None:
    field = block(assignment(view(), link="https://desk/t?a=1&b=<2>|x"), BlockId.FIELDS)["fields"][4]
    assert field["text"] == "*Ticket*\n<https://desk/t?a=1&amp;b=&lt;2&gt;%7Cx|#T-42>"


def test_a_ticket_never_seen_created_says_what_is_unknown() -> None:
    message = assignment(TicketView("T-9", agent_id="a1", agent_name="Grace", slack_user_id="U123"))

    assert "(subject unknown)" in message.text
    fields = [field["text"] for field in block(message, BlockId.FIELDS)["fields"]]
    assert fields[0] == "*Requester*\nunknown"
    assert fields[3] == "*SLA due*\nno SLA clock"
    assert buttons(message) == ALL_FOUR


# ---- assignment: the buttons never lie ---------------------------------------------------------


def test_a_fresh_assignment_offers_all_four_buttons_each_carrying_the_ticket_id() -> None:
    message = assignment(view())

    assert buttons(message) == ALL_FOUR
    elements = block(message, BlockId.ACTIONS)["elements"]
    assert {element["value"] for element in elements} == {"T-42"}
    assert [element["text"]["text"] for element in elements] == ["Accept", "Solve", "Reassign", "Decline"]
    assert all(element["type"] == "button" for element in elements)
    assert "confirm" in elements[3]  # declining hands the ticket away: asked once more


def test_once_accepted_only_solve_and_reassign_remain() -> None:
    message = assignment(view(accepted=True))

    assert buttons(message) == [TicketAction.SOLVE, TicketAction.REASSIGN]
    assert context(message) == "Accepted by you · team hardware"


@pytest.mark.parametrize("status", ["new", "pending", "on_hold"])
def test_a_ticket_still_being_worked_keeps_its_buttons(status: str) -> None:
    assert buttons(assignment(view(status=status))) == ALL_FOUR


def test_reassigned_to_someone_else_no_buttons_and_says_to_whom() -> None:
    message = assignment(view(agent_id="a2", agent_name="Linus", slack_user_id="U999"), for_agent="a1")

    assert buttons(message) == []
    assert block(message, BlockId.ACTIONS) is None
    assert context(message) == "Reassigned to Linus"
    assert block(message, BlockId.HEADER)["text"]["text"] == "Ticket #T-42 · Reassigned to Linus"
    assert message.channel == "U123"  # still the first agent's message being updated
    assert message.metadata["event_payload"]["agent_id"] == "a1"


def test_reassigned_to_an_agent_without_a_name_names_their_id() -> None:
    assert context(assignment(view(agent_id="a2", agent_name=None), for_agent="a1")) == "Reassigned to a2"


def test_handed_back_no_buttons() -> None:
    message = assignment(view(agent_id=None, agent_name=None, slack_user_id=None), for_agent="a1")

    assert buttons(message) == []
    assert context(message) == "Handed back"


@pytest.mark.parametrize("status, label", [("solved", "Solved"), ("closed", "Closed")])
def test_solved_or_closed_no_buttons(status: str, label: str) -> None:
    for accepted in (False, True):
        message = assignment(view(status=status, accepted=accepted))
        assert buttons(message) == []
        assert context(message) == label


def test_reassigned_then_solved_says_both() -> None:
    message = assignment(view(agent_id="a2", agent_name="Linus", status="solved"), for_agent="a1")
    assert buttons(message) == []
    assert context(message) == "Reassigned to Linus · Solved"


def test_assignment_actions_match_the_rendered_buttons() -> None:
    for ticket, agent in [
        (view(), "a1"),
        (view(accepted=True), "a1"),
        (view(agent_id="a2"), "a1"),
        (view(status="closed"), "a1"),
    ]:
        assert list(assignment_actions(ticket, agent)) == buttons(assignment(ticket, for_agent=agent))


# ---- escaping and Slack's limits ---------------------------------------------------------------


def test_slack_escape_neutralizes_mentions_and_links() -> None:
    assert slack_escape("<!channel> & <@U1> <https://evil|click>") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://evil|click&gt;"
    )


def test_customer_text_is_escaped_everywhere_it_lands() -> None:
    hostile = view(
        subject="<!channel> urgent",
        requester_name="Eve <@U666>",
        agent_id="a2",
        agent_name="<!here>",
    )
    message = assignment(hostile, for_agent="a1")

    rendered = " ".join([message.text, *mrkdwn_texts(message.blocks)])
    assert "<!channel>" not in rendered and "<@U666>" not in rendered and "<!here>" not in rendered
    assert block(message, BlockId.SUBJECT)["text"]["text"] == "*&lt;!channel&gt; urgent*"
    assert context(message) == "Reassigned to &lt;!here&gt;"


def test_a_subject_with_line_breaks_becomes_one_line() -> None:
    message = assignment(view(subject="Broken\r\n\r\n*again*"))
    assert block(message, BlockId.SUBJECT)["text"]["text"] == "*Broken *again**"
    assert "\n" not in message.text


def test_long_values_are_cut_to_slack_limits_without_splitting_an_escape() -> None:
    message = assignment(view(ticket_id="T-" + "9" * 200, subject="&" * 5000, requester_name="x" * 5000))

    header = block(message, BlockId.HEADER)["text"]["text"]
    assert len(header) == HEADER_MAX and header.endswith("…")
    subject = block(message, BlockId.SUBJECT)["text"]["text"]
    assert len(subject) <= SECTION_TEXT_MAX
    assert subject.startswith("*&amp;") and subject.endswith("&amp;…*")  # whole escapes only
    for field in block(message, BlockId.FIELDS)["fields"]:
        assert len(field["text"]) <= FIELD_TEXT_MAX


def test_escaped_cuts_before_an_escape_that_would_not_fit() -> None:
    assert escaped("ab<", 5) == "ab…"  # "ab&lt;" is 6: the escape goes whole
    assert escaped("ab<", 6) == "ab&lt;"
    assert escaped("abcdef", 4) == "abc…"


def test_with_delivery_key_adds_the_key_to_the_metadata_and_keeps_the_rest() -> None:
    message = with_delivery_key(assignment(view()), "slack:assignment:abc")

    assert message.metadata == {
        "event_type": "helpdesk_ticket_assigned",
        "event_payload": {"ticket_id": "T-42", "agent_id": "a1", "delivery_key": "slack:assignment:abc"},
    }
    assert ChatMessage.from_content(message.as_content()) == message


# ---- SLA alerts --------------------------------------------------------------------------------


def test_sla_warning_mentions_the_assignee_in_the_team_channel() -> None:
    alert = compose_sla_alert(
        view(), kind="warning", metric="first_reply", due_at=DUE, elapsed_share=0.8, channel="C0HARDWARE"
    )

    assert alert.channel == "C0HARDWARE"
    assert "<@U123>" in alert.text
    assert "first reply due 2026-11-23 17:30 UTC (80% of the target used)" in alert.text
    assert "Assignee: <@U123>" in str(alert.blocks)
    assert alert.metadata == {
        "event_type": "helpdesk_sla_warning",
        "event_payload": {
            "ticket_id": "T-42",
            "metric": "first_reply",
            "due_at": "2026-11-23T17:30:00+00:00",
        },
    }


def test_sla_breach_without_a_slack_user_names_the_agent_without_a_mention() -> None:
    alert = compose_sla_alert(
        view(slack_user_id=None, subject="<!channel>"),
        kind="breached",
        metric="resolution",
        due_at=DUE,
        elapsed_share=None,
        channel="C0HARDWARE",
    )

    assert "<@" not in alert.text and "<!channel>" not in str(alert.as_content())
    assert "resolution was due 2026-11-23 17:30 UTC" in alert.text
    assert "Assignee: Grace" in str(alert.blocks)
    assert alert.metadata["event_type"] == "helpdesk_sla_breached"


def test_sla_alert_of_an_unassigned_ticket_says_so() -> None:
    alert = compose_sla_alert(
        view(agent_id=None, agent_name=None, slack_user_id=None),
        kind="warning", metric="first_reply", due_at=None, elapsed_share=None, channel="C1",
    )  # fmt: skip
    assert "Unassigned" in str(alert.blocks)
    assert "due soon" in alert.text


def test_a_malformed_slack_user_id_is_not_turned_into_a_mention() -> None:
    alert = compose_sla_alert(
        view(slack_user_id="U1> <!channel"), kind="breached", metric="first_reply", due_at=DUE,
        elapsed_share=None, channel="C1",
    )  # fmt: skip
    assert "<!channel" not in str(alert.as_content())


def test_an_unknown_sla_alert_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SLA alert kind"):
        compose_sla_alert(
            view(), kind="met", metric="first_reply", due_at=DUE, elapsed_share=None, channel="C1"
        )  # type: ignore[arg-type]


# ---- shout-outs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, score, comment, expected",
    [
        ("csat", 5, "Lovely", True),
        ("csat", 4, "Lovely", True),
        ("csat", 3, "Lovely", False),
        ("csat", 5, None, False),
        ("csat", 5, "   ", False),
        ("CSAT", 5, "Lovely", True),
        ("nps", 10, "Lovely", True),
        ("nps", 9, "Lovely", True),
        ("nps", 8, "Lovely", False),
        ("nps", 10, "", False),
        ("ces", 7, "Lovely", False),
        ("ces", 1, "Lovely", False),
        ("unknown", 10, "Lovely", False),
    ],
)
def test_is_shout_out(kind: str, score: int, comment: str | None, expected: bool) -> None:
    assert is_shout_out(kind, score, comment) is expected


def test_shout_out_quotes_the_customer_in_their_own_words_escaped() -> None:
    message = compose_shout_out(
        view(),
        score=5,
        kind="csat",
        comment="Grace fixed it <!channel> & more!\nThank you",
        agent_slack_user_id="U123",
        channel="C0HARDWARE",
    )

    assert message.channel == "C0HARDWARE"
    headline, quote = message.blocks[0]["text"]["text"], message.blocks[1]["text"]["text"]
    assert headline.startswith(":tada: *Shout-out for <@U123>!* A customer gave 5/5 (CSAT) on ticket #T-42")
    assert quote == "> Grace fixed it &lt;!channel&gt; &amp; more!\n> Thank you"
    assert "<!channel>" not in str(message.as_content())
    assert message.metadata == {
        "event_type": "helpdesk_shout_out",
        "event_payload": {"kind": "csat", "score": 5, "ticket_id": "T-42"},
    }


def test_shout_out_for_an_unknown_ticket_and_agent_thanks_the_team() -> None:
    message = compose_shout_out(
        None, score=10, kind="nps", comment="x" * 10_000, agent_slack_user_id=None, channel="C1"
    )

    assert "Shout-out for the team!" in message.blocks[0]["text"]["text"]
    assert "10/10 (NPS)" in message.text
    assert len(message.blocks[1]["text"]["text"]) <= SECTION_TEXT_MAX
    assert "ticket_id" not in message.metadata["event_payload"]


def test_shout_out_without_a_slack_user_names_the_agent() -> None:
    message = compose_shout_out(
        replace(view(), agent_name="Grace & co"), score=4, kind="csat", comment="Thanks",
        agent_slack_user_id=None, channel="C1",
    )  # fmt: skip
    assert "Shout-out for Grace &amp; co!" in message.blocks[0]["text"]["text"]


# ---- low-score follow-ups ----------------------------------------------------------------------

LINK = "https://desk.example.com/tickets/T-42"


def follow_up(ticket: TicketView | None = None, **changes: object) -> ChatMessage:
    fields: dict[str, object] = {
        "kind": "csat", "score": 2, "comment": "Took three days <!here> & nobody called",
        "agent_slack_user_id": "U123", "reopened": False, "channel": "U0LEAD", "link": LINK,
    }  # fmt: skip
    return compose_follow_up(ticket or view(), **{**fields, **changes})  # type: ignore[arg-type]


def texts(message: ChatMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def test_follow_up_names_the_low_score_the_ticket_and_quotes_the_customer_escaped() -> None:
    message = follow_up()

    assert message.channel == "U0LEAD"
    headline, quote = texts(message)[:2]
    assert headline == f":warning: *Low CSAT (2/5)* on <{LINK}|#T-42> “Printer on fire”"
    assert quote == "> Took three days &lt;!here&gt; &amp; nobody called"
    assert "<!here>" not in str(message.as_content())
    assert message.text.startswith("Low CSAT (2/5) on #T-42 “Printer on fire”: ")
    assert message.metadata == {
        "event_type": "helpdesk_feedback_follow_up",
        "event_payload": {"kind": "csat", "score": 2, "ticket_id": "T-42", "reopened": False},
    }


def test_follow_up_mentions_the_agent_and_names_the_team() -> None:
    context = next(b for b in follow_up().blocks if b["type"] == "context")["elements"][0]["text"]
    assert context == "Agent: <@U123> · Team hardware"


def test_follow_up_says_when_the_ticket_was_reopened_and_only_then() -> None:
    reopened, kept = follow_up(reopened=True), follow_up(reopened=False)

    assert "The ticket was reopened." in texts(reopened)
    assert reopened.text.endswith("The ticket was reopened.")
    assert reopened.metadata["event_payload"]["reopened"] is True
    assert "reopened" not in " ".join(texts(kept)) and "reopened" not in kept.text


def test_follow_up_has_a_link_button_to_the_ticket_and_none_without_a_link() -> None:
    actions = [b for b in follow_up().blocks if b["type"] == "actions"]
    assert len(actions) == 1
    [button] = actions[0]["elements"]
    assert button["url"] == LINK
    assert button["text"] == {"type": "plain_text", "text": "Open ticket #T-42"}

    unlinked = follow_up(link=None)
    assert not [b for b in unlinked.blocks if b["type"] == "actions"]
    assert "on #T-42 “Printer on fire”" in texts(unlinked)[0]


@pytest.mark.parametrize(
    ("kind", "score", "rating"),
    [("nps", 3, "Low NPS (3/10)"), ("ces", 7, "Low CES (7/7)"), ("CSAT", 1, "Low CSAT (1/5)")],
)
def test_follow_up_shows_the_score_on_its_kind_s_scale(kind: str, score: int, rating: str) -> None:
    message = follow_up(kind=kind, score=score)
    assert texts(message)[0].startswith(f":warning: *{rating}*")
    assert message.text.startswith(rating)


def test_follow_up_without_a_comment_says_so() -> None:
    for comment in (None, "  \n "):
        message = follow_up(comment=comment)
        assert texts(message)[1] == "_No comment._"
        assert message.text == "Low CSAT (2/5) on #T-42 “Printer on fire”"


def test_follow_up_without_a_slack_user_names_the_agent_or_says_none_is_on_record() -> None:
    def agent_line(message: ChatMessage) -> str:
        return next(b for b in message.blocks if b["type"] == "context")["elements"][0]["text"]

    assert agent_line(follow_up(agent_slack_user_id=None)).startswith("Agent: Grace ·")
    assert agent_line(follow_up(view(agent_name=None), agent_slack_user_id=None)).startswith("Agent: a1 ·")
    unassigned = view(agent_id=None, agent_name=None, slack_user_id=None, team=None)
    nobody = follow_up(unassigned, agent_slack_user_id=None)
    assert agent_line(nobody) == "No agent on record"
    assert "<@" not in str(follow_up(agent_slack_user_id="U1> <!channel").as_content())


def test_follow_up_on_a_ticket_never_seen_leaves_out_the_unknown_subject() -> None:
    message = follow_up(TicketView(ticket_id="T-9"), link=None)
    assert texts(message)[0] == ":warning: *Low CSAT (2/5)* on #T-9"
    assert "subject unknown" not in message.text


def test_follow_up_texts_stay_within_slack_limits() -> None:
    message = follow_up(view(subject="<s> " * 2_000), comment="& " * 5_000, link=LINK + "?" + "x" * 3_000)

    assert all(len(text) <= SECTION_TEXT_MAX for text in texts(message))
    assert len(message.text) <= 3_000
    for text in mrkdwn_texts(list(message.blocks)):
        assert "<s>" not in text
    # A link too long for a button gets none (a cut URL would lead nowhere); the headline still links.
    assert not [b for b in message.blocks if b["type"] == "actions"]


def test_the_digest_names_what_the_message_shows_not_where_it_goes() -> None:
    """Updates are skipped when the digest of the new rendering equals the message's: the digest must
    change with anything an agent sees and with nothing else."""
    message = assignment(view())
    elsewhere = compose_assignment(view(), for_agent="a1", slack_user_id="D0CONVERSATION", link=None)
    keyed = with_delivery_key(message, "event-1:slack:U123")
    stored = ChatMessage.from_content(message.as_content())  # as read back: lists where it had tuples

    assert message.digest == elsewhere.digest == keyed.digest == stored.digest
    # A later resolution due time does not move the earliest due time the message shows.
    later_resolution = view(sla_due={"first_reply": DUE, "resolution": DUE + timedelta(days=2)})
    assert assignment(later_resolution).digest == message.digest
    for changed in (
        view(accepted=True),
        view(sla_due={"first_reply": DUE + timedelta(minutes=1), "resolution": DUE + timedelta(hours=8)}),
        view(status="solved"),
        view(priority="urgent"),
        view(agent_id="bob", agent_name="Bob"),
    ):
        assert assignment(changed).digest != message.digest, changed
