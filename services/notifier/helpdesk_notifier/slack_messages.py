"""What the notifier says in Slack: the agent's assignment message, SLA alerts, shout-outs and low-score
follow-ups. Pure.

Everything a customer or an agent typed (subject, names, comments) is escaped for Slack's mrkdwn,
whose only control characters are `&`, `<` and `>`: escaped, `<!channel>` or `<@U1>` in a subject is
shown as written instead of pinging anyone. Texts are cut to Slack's block limits (a message with a
too-long block is refused with `invalid_blocks`, which no retry fixes), never inside an escape.

The assignment message is rendered from the ticket's current view for the agent it was sent to,
by the same function for the first post and every later `chat.update`, so its buttons never offer
what the ticket no longer allows.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from helpdesk_events.slack_actions import OPEN_TICKET_LINK, BlockId, TicketAction, button_value
from helpdesk_notifier.email_messages import one_line
from helpdesk_notifier.ports import ChatMessage
from helpdesk_notifier.ticket_view import TicketView

# Slack's Block Kit limits.
HEADER_MAX = 150  # header block, plain_text
SECTION_TEXT_MAX = 3_000  # section text
FIELD_TEXT_MAX = 2_000  # one of a section's fields
CONTEXT_TEXT_MAX = 2_000  # one context element (Slack allows 3,000; kept with the fields' margin)
BUTTON_TEXT_MAX = 75  # a button's label
BUTTON_URL_MAX = 3_000  # a link button's url
MESSAGE_TEXT_MAX = 3_000  # the notification fallback `text` (Slack truncates at 40,000; keep it readable)

# Slack message metadata event types (letters, digits and underscores).
ASSIGNMENT_EVENT = "helpdesk_ticket_assigned"
SLA_EVENT = {"warning": "helpdesk_sla_warning", "breached": "helpdesk_sla_breached"}
SHOUT_OUT_EVENT = "helpdesk_shout_out"
FOLLOW_UP_EVENT = "helpdesk_feedback_follow_up"

REOPENED_NOTE = "The ticket was reopened."

NO_SLA = "no SLA clock"
_SCALE = {"csat": 5, "nps": 10, "ces": 7}
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


# ---- the agent's assignment message ------------------------------------------------------------


def assignment_actions(view: TicketView, for_agent: str) -> tuple[TicketAction, ...]:
    """The buttons `for_agent` may press now: none once the ticket is someone else's, handed back,
    solved or closed; Solve and Reassign once they accepted it; all four before."""
    if _assignment_notes(view, for_agent):
        return ()
    if view.accepted:
        return (TicketAction.SOLVE, TicketAction.REASSIGN)
    return (TicketAction.ACCEPT, TicketAction.SOLVE, TicketAction.REASSIGN, TicketAction.DECLINE)


def compose_assignment(
    view: TicketView, *, for_agent: str, slack_user_id: str, link: str | None
) -> ChatMessage:
    """The direct message to `slack_user_id` (agent `for_agent`) about `view`'s ticket, as it stands now."""
    ticket_id = view.ticket_id
    subject = _one_line(view.subject)
    notes = _assignment_notes(view, for_agent)
    actions = assignment_actions(view, for_agent)
    if notes:
        header = f"Ticket #{ticket_id} · {notes[0]}"
        context = " · ".join(notes)
        text = f"Ticket #{ticket_id}: {subject} ({context})"
    else:
        header = f"Ticket #{ticket_id} assigned to you"
        context = ("Accepted by you" if view.accepted else "Assigned to you") + (
            f" · team {view.team}" if view.team else ""
        )
        text = (
            f"Ticket #{ticket_id} is assigned to you: {subject} "
            f"(priority {view.priority}, from {view.requester} via {view.channel})"
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "block_id": BlockId.HEADER.value,
            "text": {"type": "plain_text", "text": _cut(header, HEADER_MAX)},
        },
        {
            "type": "section",
            "block_id": BlockId.SUBJECT.value,
            "text": {"type": "mrkdwn", "text": f"*{escaped(subject, SECTION_TEXT_MAX - 2)}*"},
        },
        {
            "type": "section",
            "block_id": BlockId.FIELDS.value,
            "fields": [
                _field("Requester", view.requester),
                _field("Channel", view.channel),
                _field("Priority", view.priority),
                _field("SLA due", shown_time(view.next_sla_due) if view.next_sla_due else NO_SLA),
                _link_field("Ticket", link, f"#{ticket_id}"),
            ],
        },
        {
            "type": "context",
            "block_id": BlockId.CONTEXT.value,
            "elements": [{"type": "mrkdwn", "text": escaped(context, CONTEXT_TEXT_MAX)}],
        },
    ]
    if actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.ACTIONS.value,
                "elements": [_button(action, ticket_id) for action in actions],
            }
        )
    return ChatMessage(
        channel=slack_user_id,
        text=escaped(text, MESSAGE_TEXT_MAX),
        blocks=tuple(blocks),
        # Lets a later reconciliation find this post in the conversation's history; the handler adds
        # the delivery key (`with_delivery_key`).
        metadata={
            "event_type": ASSIGNMENT_EVENT,
            "event_payload": {"ticket_id": ticket_id, "agent_id": for_agent},
        },
    )


def _assignment_notes(view: TicketView, for_agent: str) -> list[str]:
    """Why `for_agent` can no longer act on the ticket, for the message's context line; empty if they can."""
    notes: list[str] = []
    if view.agent_id != for_agent:
        notes.append(f"Reassigned to {view.agent_name or view.agent_id}" if view.agent_id else "Handed back")
    if view.status in ("solved", "closed"):
        notes.append(view.status.capitalize())
    return notes


_BUTTONS: dict[TicketAction, dict[str, Any]] = {
    TicketAction.ACCEPT: {"text": "Accept", "style": "primary"},
    TicketAction.SOLVE: {"text": "Solve"},
    TicketAction.REASSIGN: {"text": "Reassign"},
    TicketAction.DECLINE: {
        "text": "Decline",
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Decline this ticket?"},
            "text": {"type": "plain_text", "text": "It goes back to the queue for someone else."},
            "confirm": {"type": "plain_text", "text": "Decline"},
            "deny": {"type": "plain_text", "text": "Keep it"},
        },
    },
}


def _button(action: TicketAction, ticket_id: str) -> dict[str, Any]:
    spec = _BUTTONS[action]
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action.value,  # a plain str in the message, as stored and sent
        "text": {"type": "plain_text", "text": _cut(spec["text"], BUTTON_TEXT_MAX)},
        "value": button_value(ticket_id),
    }
    for key in ("style", "confirm"):
        if key in spec:
            button[key] = spec[key]
    return button


def with_delivery_key(message: ChatMessage, delivery_key: str) -> ChatMessage:
    """The message with the delivery's key in its metadata, which is what `find_posted` matches."""
    metadata = dict(message.metadata or {"event_type": "helpdesk_notification", "event_payload": {}})
    metadata["event_payload"] = {**metadata.get("event_payload", {}), "delivery_key": delivery_key}
    return replace(message, metadata=metadata)


# ---- SLA alerts in the team's channel -------------------------------------------------------


def compose_sla_alert(
    view: TicketView,
    *,
    kind: Literal["warning", "breached"],
    metric: str,
    due_at: datetime | None,
    elapsed_share: float | None,
    channel: str,
    link: str | None = None,
) -> ChatMessage:
    """A warning (a clock used most of its target) or a breach, mentioning the assignee when Slack
    knows them."""
    if kind not in SLA_EVENT:
        raise ValueError(f"unknown SLA alert kind {kind!r}: expected 'warning' or 'breached'")
    ticket_id = view.ticket_id
    what = metric.replace("_", " ")
    if kind == "warning":
        due = f"due {shown_time(due_at)}" if due_at else "due soon"
        used = f" ({round(elapsed_share * 100)}% of the target used)" if elapsed_share is not None else ""
        headline = f":warning: SLA warning on ticket #{ticket_id}: {what} {due}{used}"
    else:
        due = f"was due {shown_time(due_at)}" if due_at else "is overdue"
        headline = f":rotating_light: SLA breached on ticket #{ticket_id}: {what} {due}"
    assignee = _agent(view.slack_user_id, view, by_id=True)
    owner = f"Assignee: {assignee}" if assignee else "Unassigned"
    subject = escaped(_one_line(view.subject), SECTION_TEXT_MAX - 200)
    ticket = _ticket_reference(view, link)
    details = [owner, f"Priority {escaped(view.priority, 100)}"]
    if view.team:
        details.append(f"Team {escaped(view.team, 200)}")
    mention = _mention(view.slack_user_id)
    text = escaped(f"{headline}: {_one_line(view.subject)}", MESSAGE_TEXT_MAX - 20)
    if mention:
        text += f" {mention}"
    payload: dict[str, Any] = {"ticket_id": ticket_id, "metric": metric}
    if due_at is not None:
        payload["due_at"] = _iso(due_at)
    return ChatMessage(
        channel=channel,
        text=text,
        blocks=(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{escaped(headline, 600)}*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{ticket} · {subject}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": _cut(" · ".join(details), CONTEXT_TEXT_MAX)}],
            },
        ),
        metadata={"event_type": SLA_EVENT[kind], "event_payload": payload},
    )


# ---- shout-outs ------------------------------------------------------------------------------


def is_shout_out(kind: str, score: int, comment: str | None) -> bool:
    """Positive feedback worth sharing: CSAT 4-5 or NPS 9-10 (a promoter), with words of the customer.
    CES measures effort, not praise: never."""
    if not comment or not comment.strip():
        return False
    kind = str(kind).lower()
    if kind == "csat":
        return 4 <= score <= 5
    if kind == "nps":
        return 9 <= score <= 10
    return False


def compose_shout_out(
    view: TicketView | None,
    *,
    score: int,
    kind: str,
    comment: str,
    agent_slack_user_id: str | None,
    channel: str,
    link: str | None = None,
) -> ChatMessage:
    """The customer's words, quoted, in the team's channel, thanking the agent (mentioned when known)."""
    kind = str(kind).lower()
    rating = _rating(kind, score)
    who = _agent(agent_slack_user_id, view) or "the team"
    on_ticket = f" on ticket {_ticket_reference(view, link)}" if view is not None else ""
    headline = (
        f":tada: *Shout-out for {who}!* A customer gave {rating} ({kind.upper()}){on_ticket}:"
    )
    quote = _quote(comment, SECTION_TEXT_MAX)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": quote}},
    ]
    if view is not None and view.known:
        blocks.append(_context(f"Ticket: {escaped(_one_line(view.subject), CONTEXT_TEXT_MAX - 8)}"))
    text = f"Shout-out for {who}! A customer gave {rating} ({kind.upper()}): "
    text += _quoted_line(comment, MESSAGE_TEXT_MAX - 200)
    return ChatMessage(
        channel=channel,
        text=text,
        blocks=tuple(blocks),
        metadata={"event_type": SHOUT_OUT_EVENT, "event_payload": _feedback_payload(view, kind, score)},
    )


# ---- low-score follow-up for the team lead -----------------------------------------------------


def compose_follow_up(
    view: TicketView,
    *,
    kind: str,
    score: int,
    comment: str | None,
    agent_slack_user_id: str | None,
    reopened: bool,
    channel: str,
    link: str | None = None,
) -> ChatMessage:
    """A low score for the team lead (or the team's channel): the rating, the customer's words quoted,
    the agent mentioned when Slack knows them, and whether the ticket was reopened."""
    kind = str(kind).lower()
    label = f"Low {kind.upper()} ({_rating(kind, score)})"
    subject = f" “{_one_line(view.subject)}”" if view.known else ""
    on_ticket = _ticket_reference(view, link)  # up to ~1,700 characters with a long link
    headline = f":warning: *{label}* on {on_ticket}{escaped(subject, SECTION_TEXT_MAX - 2_000)}"
    said = _quote(comment, SECTION_TEXT_MAX) if comment and comment.strip() else "_No comment._"
    who = _agent(agent_slack_user_id, view, by_id=True)
    details = [f"Agent: {who}" if who else "No agent on record"]
    if view.team:
        details.append(f"Team {escaped(view.team, 200)}")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "text": {"type": "mrkdwn", "text": said}},
    ]
    if reopened:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": REOPENED_NOTE}})
    blocks.append(_context(_cut(" · ".join(details), CONTEXT_TEXT_MAX)))
    if link and len(link) <= BUTTON_URL_MAX:  # a cut URL would lead nowhere; the headline links anyway
        blocks.append({"type": "actions", "elements": [_link_button(f"Open ticket #{view.ticket_id}", link)]})
    reopened_note = f" {REOPENED_NOTE}" if reopened else ""
    text = escaped(f"{label} on #{view.ticket_id}{subject}", 600)
    if comment and comment.strip():
        room = MESSAGE_TEXT_MAX - len(text) - len(reopened_note) - 2
        text += ": " + _quoted_line(comment, room)
    text += reopened_note
    payload = {**_feedback_payload(view, kind, score), "reopened": reopened}
    return ChatMessage(
        channel=channel,
        text=text,
        blocks=tuple(blocks),
        metadata={"event_type": FOLLOW_UP_EVENT, "event_payload": payload},
    )


def _rating(kind: str, score: int) -> str:
    """`2/5`: the score out of its kind's scale (a kind without a known scale: the bare score)."""
    scale = _SCALE.get(kind)
    return f"{score}/{scale}" if scale else str(score)


def _agent(slack_user_id: str | None, view: TicketView | None, *, by_id: bool = False) -> str | None:
    """The agent as a mention when Slack knows them, else by name (or, `by_id`, by agent id), escaped;
    None when the view names nobody."""
    named = (view.agent_name or (view.agent_id if by_id else None)) if view is not None else None
    return _mention(slack_user_id) or (escaped(named, 200) if named else None)


def _ticket_reference(view: TicketView, link: str | None) -> str:
    """`#T-42`, as a link to the ticket when there is one."""
    return _link(link, f"#{view.ticket_id}") if link else f"#{escaped(view.ticket_id, 200)}"


def _quoted_line(comment: str, limit: int) -> str:
    """The customer's comment on one line in quotes, escaped and cut, for a message's notification text."""
    return escaped("“" + _one_line(comment) + "”", limit)


def _feedback_payload(view: TicketView | None, kind: str, score: int) -> dict[str, Any]:
    payload: dict[str, Any] = {"kind": kind, "score": score}
    if view is not None:
        payload["ticket_id"] = view.ticket_id
    return payload


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _link_button(label: str, url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": OPEN_TICKET_LINK,
        "text": {"type": "plain_text", "text": _cut(label, BUTTON_TEXT_MAX)},
        "url": url,
    }


# ---- text helpers ------------------------------------------------------------------------------


def slack_escape(value: str) -> str:
    """Slack's three control characters in text; anything else is shown as written."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped(value: str, limit: int) -> str:
    """`value` escaped for mrkdwn and cut to `limit` characters, never inside an `&amp;`-style escape."""
    return _cut_escaped(slack_escape(value), limit)


def _cut_escaped(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]  # the escape would be left half: drop it whole
    return cut + "…"


def _cut(value: str, limit: int) -> str:
    """Plain text (header, button) cut to a Slack limit."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _one_line(value: str | None) -> str:
    return one_line(value or "")


def _quote(comment: str, limit: int) -> str:
    """The comment as an mrkdwn block quote, line by line, escaped and cut to `limit`."""
    lines = [line.rstrip() for line in comment.strip().splitlines()] or [""]
    return _cut_escaped("\n".join("> " + slack_escape(line) for line in lines), limit)


def _field(label: str, value: str) -> dict[str, str]:
    prefix = f"*{label}*\n"
    return {"type": "mrkdwn", "text": prefix + escaped(value, FIELD_TEXT_MAX - len(prefix))}


def _link_field(label: str, url: str | None, label_text: str) -> dict[str, str]:
    if not url:
        return _field(label, label_text)
    return {"type": "mrkdwn", "text": f"*{label}*\n{_link(url, label_text)}"}


def _link(url: str, label: str) -> str:
    """`<url|label>`: the URL escaped, a `|` in it percent-encoded so it cannot end the URL early."""
    return f"<{slack_escape(url.replace('|', '%7C'))[:1500]}|{escaped(label, 200)}>"


def _mention(slack_user_id: str | None) -> str | None:
    """`<@U123>` for a well-formed user id; anything else is not turned into markup."""
    if slack_user_id and _USER_ID.fullmatch(slack_user_id):
        return f"<@{slack_user_id}>"
    return None


def shown_time(moment: datetime) -> str:
    """A moment as the messages show it: to the minute, in UTC."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _iso(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()
