"""The ids on the ticket buttons in Slack: the notifier puts them on its assignment message, intake reads
them back from Slack's block_actions payload. One definition, so the two sides cannot drift apart.

Wire format (what Slack stores in posted messages and sends back on a press; changing it breaks the
buttons of messages already posted): each ticket button has one of `TicketAction`'s `action_id`s and
the ticket id, as it is, for its `value` (`button_value`, read back by `ticket_id_in`).
"""

from __future__ import annotations

from enum import StrEnum


class TicketAction(StrEnum):
    """`action_id`s of the ticket buttons: each press becomes the ticket action of the same name."""

    ACCEPT = "ticket_accept"
    SOLVE = "ticket_solve"
    REASSIGN = "ticket_reassign"
    DECLINE = "ticket_decline"


# A link button ("Open ticket"): Slack opens the URL itself and still tells the interactivity URL,
# under this action_id; intake only acknowledges it.
OPEN_TICKET_LINK = "ticket_open"


class BlockId(StrEnum):
    """`block_id`s of the assignment message's blocks; a press names the block its button sat in."""

    HEADER = "ticket_assigned_header"
    SUBJECT = "ticket_assigned_subject"
    FIELDS = "ticket_assigned_fields"
    CONTEXT = "ticket_assigned_context"
    ACTIONS = "ticket_assigned_actions"


def button_value(ticket_id: str) -> str:
    """The `value` of a ticket button: the ticket id itself."""
    return ticket_id


def ticket_id_in(value: str | None) -> str | None:
    """The ticket id a pressed button carries (`button_value`); None when it carries none."""
    return value or None
