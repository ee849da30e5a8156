"""What agents and customers may do to a ticket in each status, and what it does to the status.

Pure: statuses in, decisions out. The HTTP routes, Slack buttons and the email channel all ask
here, so a ticket follows one lifecycle whichever way a change arrives. Zendesk is the reference:

- `new` means nobody has acted on the ticket yet; nothing ever moves back to it.
- A ticket is `solved` before it is `closed`, and `closed` is final: no status change, reply
  or note touches it again (a customer who writes to a closed ticket needs a new one).
- The first public agent reply on a `new` ticket opens it (Zendesk submits an agent's first
  update as Open); an internal note answers nobody and leaves the status alone.
- A customer message on a `solved` ticket reopens it, and one on a `pending` ticket (which waits
  for the customer) makes it `open` again: it is the agent's turn. `on_hold` waits on a third
  party, not the customer, so it stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from helpdesk_events import TicketStatus

S = TicketStatus

# Where an agent may move a ticket from each status (staying put is a no-op, not a transition).
TRANSITIONS: Mapping[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.OPEN, S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.OPEN: frozenset({S.PENDING, S.ON_HOLD, S.SOLVED}),
    S.PENDING: frozenset({S.OPEN, S.ON_HOLD, S.SOLVED}),
    S.ON_HOLD: frozenset({S.OPEN, S.PENDING, S.SOLVED}),
    S.SOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset(),
}

# Customer messages hand the ticket back to the agents from these statuses.
REOPENED_BY_CUSTOMER: frozenset[TicketStatus] = frozenset({S.SOLVED, S.PENDING})


class ActionRefused(Exception):
    """The ticket's status does not allow this; the message says why (HTTP 409)."""


@dataclass(frozen=True)
class StatusChange:
    from_status: TicketStatus
    to_status: TicketStatus


def status_change(current: TicketStatus, target: TicketStatus) -> StatusChange | None:
    """The change an agent asks for; None when the ticket already has that status (a no-op, so a
    retried request is harmless); ActionRefused when the lifecycle does not allow it."""
    if target == current:
        return None
    if target in TRANSITIONS[current]:
        return StatusChange(current, target)
    raise ActionRefused(_why_not(current, target))


def _why_not(current: TicketStatus, target: TicketStatus) -> str:
    if current == S.CLOSED:
        return "the ticket is closed, and a closed ticket is final"
    if target == S.NEW:
        return "no ticket goes back to new: new means nobody has acted on it yet"
    if target == S.CLOSED:
        return f"only a solved ticket can be closed; this one is {current.value}"
    return f"a {current.value} ticket cannot become {target.value}"


def ensure_not_closed(current: TicketStatus) -> None:
    """Agents may still act on any ticket but a closed one."""
    if current == S.CLOSED:
        raise ActionRefused("the ticket is closed, and a closed ticket is final")


def after_agent_message(current: TicketStatus, *, public: bool) -> StatusChange | None:
    """An agent's reply (public) or internal note: ActionRefused on a closed ticket; the first
    public reply opens a new ticket."""
    ensure_not_closed(current)
    if public and current == S.NEW:
        return StatusChange(S.NEW, S.OPEN)
    return None


def after_customer_message(current: TicketStatus) -> StatusChange | None:
    """A customer's follow-up, from any channel: reopens a solved (or pending) ticket; refused on a
    closed one, where the customer's message belongs in a new ticket."""
    if current == S.CLOSED:
        raise ActionRefused("the ticket is closed; a new message needs a new ticket")
    if current in REOPENED_BY_CUSTOMER:
        return StatusChange(current, S.OPEN)
    return None


def ensure_answerable(current: TicketStatus, assignee_id: str | None, agent_id: str | None) -> None:
    """Only the ticket's current assignee answers its assignment: a button on an older message
    (the ticket has moved to someone else since) must not unassign the next agent."""
    ensure_not_closed(current)
    if agent_id is None or agent_id != assignee_id:
        raise ActionRefused("the ticket is not assigned to you (any more): only its assignee can answer")
