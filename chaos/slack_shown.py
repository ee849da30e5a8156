"""Whether each ticket's assignment message shows what its SLA clocks say, pure: the agent's view at the end.

The notifier posts one message per assignment and updates it in place (`chat.update`) as the ticket
changes; updates skipped as no-ops, or made in another order than their events, must still leave every
message showing the ticket as it is. Here that is checked on the SLA due time the message shows: the
earliest due time among the ticket's clocks, each as last told (`sla.started`; a re-target tells a clock
again), or "no SLA clock" when none was told. Under the fault suite's load a ticket is never replied to
or solved, so its started clocks are still running at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from chaos.sla_due import StartedClock
from helpdesk_notifier.slack_messages import ASSIGNMENT_EVENT, NO_SLA, shown_time

SLA_DUE_FIELD = "*SLA due*\n"


def shown_due(message: Mapping) -> str | None:
    """The text of the message's "SLA due" field; None if it has none."""
    for block in message.get("blocks") or ():
        for field in block.get("fields") or ():
            text = str(field.get("text", ""))
            if text.startswith(SLA_DUE_FIELD):
                return text[len(SLA_DUE_FIELD):]
    return None


def expected_due(told: Iterable[StartedClock]) -> str:
    """What a message should show for these clocks (in the order they were told)."""
    last_by_metric: dict[str, datetime | None] = {}
    for clock in told:
        last_by_metric[clock.metric] = clock.due_at
    due = [moment for moment in last_by_metric.values() if moment is not None]
    return shown_time(min(due)) if due else NO_SLA


def ticket_of(message: Mapping) -> str | None:
    """The ticket an assignment message is about (its metadata, kept through updates); None for others."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != ASSIGNMENT_EVENT:
        return None
    return (metadata.get("event_payload") or {}).get("ticket_id")


def messages_out_of_date(
    messages: Iterable[Mapping], told: Mapping[str, list[StartedClock]], tickets: set[str]
) -> dict[str, str]:
    """Of `tickets`, those with an assignment message that does not show the due time their clocks give:
    ticket -> what it shows and what it should."""
    wrong: dict[str, str] = {}
    for message in messages:
        ticket = ticket_of(message)
        if ticket is None or ticket not in tickets:
            continue
        shown, expected = shown_due(message), expected_due(told.get(ticket, ()))
        if shown != expected:
            wrong[ticket] = f"message {message.get('ts')} shows {shown!r}, its clocks say {expected!r}"
    return wrong
