"""Folding ticket and SLA events into the facts the response-time reports read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpdesk_events import AuthorKind, Channel, Priority, SlaMetric, TicketStatus
from helpdesk_sla import ticket_facts as facts
from helpdesk_sla.ticket_facts import TicketFacts

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def created(at: datetime = T0) -> TicketFacts:
    return facts.ticket_created(None, ticket_id="T-1", at=at, channel=Channel.EMAIL, priority=Priority.NORMAL)


def reply(
    known: TicketFacts | None, at: datetime, author=AuthorKind.AGENT, public: bool = True
) -> TicketFacts:
    return facts.message_added(known, ticket_id="T-1", author_kind=author, public=public, at=at)


def status(known: TicketFacts | None, to: TicketStatus, at: datetime) -> TicketFacts:
    return facts.status_changed(known, ticket_id="T-1", to_status=to, at=at)


def test_creation_triage_and_assignment_set_channel_priority_agent_and_team() -> None:
    ticket = created()
    assert ticket == TicketFacts("T-1", created_at=T0, channel="email", priority="normal")
    ticket = facts.ticket_triaged(ticket, ticket_id="T-1", priority=Priority.URGENT, team="billing")
    ticket = facts.ticket_assigned(ticket, ticket_id="T-1", agent_id="ada", team=None)
    assert (ticket.priority, ticket.team, ticket.agent_id) == ("urgent", "billing", "ada")
    moved = facts.ticket_assigned(ticket, ticket_id="T-1", agent_id="bob", team="vip")
    assert (moved.agent_id, moved.team) == ("bob", "vip")  # counted for whoever holds it now


def test_only_public_agent_replies_count_and_only_before_the_first_solve() -> None:
    ticket = reply(created(), T0 + MINUTE, author=AuthorKind.CUSTOMER)
    ticket = reply(ticket, T0 + 2 * MINUTE, public=False)  # internal note
    ticket = reply(ticket, T0 + 3 * MINUTE, author=AuthorKind.SYSTEM)
    assert ticket.first_agent_reply_at is None and ticket.agent_replies == 0
    ticket = reply(ticket, T0 + 4 * MINUTE)
    ticket = reply(ticket, T0 + 5 * MINUTE)
    assert ticket.first_agent_reply_at == T0 + 4 * MINUTE and ticket.agent_replies == 2
    ticket = status(ticket, TicketStatus.SOLVED, T0 + 6 * MINUTE)
    ticket = status(ticket, TicketStatus.OPEN, T0 + 7 * MINUTE)
    ticket = reply(ticket, T0 + 8 * MINUTE)
    assert ticket.agent_replies == 2 and ticket.first_agent_reply_at == T0 + 4 * MINUTE


def test_the_first_solve_stays_and_leaving_solved_marks_a_reopen() -> None:
    ticket = status(created(), TicketStatus.PENDING, T0 + MINUTE)
    assert ticket.solved_at is None and not ticket.reopened  # pending before a solve is no reopen
    ticket = status(ticket, TicketStatus.SOLVED, T0 + 2 * MINUTE)
    assert ticket.solved_at == T0 + 2 * MINUTE and not ticket.reopened
    ticket = status(ticket, TicketStatus.OPEN, T0 + 3 * MINUTE)
    ticket = status(ticket, TicketStatus.SOLVED, T0 + 4 * MINUTE)
    ticket = status(ticket, TicketStatus.CLOSED, T0 + 5 * MINUTE)
    assert ticket.solved_at == T0 + 2 * MINUTE and ticket.reopened


def test_closing_an_unsolved_ticket_counts_as_its_solve() -> None:
    assert status(created(), TicketStatus.CLOSED, T0 + MINUTE).solved_at == T0 + MINUTE


def test_breaches_count_and_mark_their_clock_missed() -> None:
    ticket = facts.sla_breached(created(), ticket_id="T-1", metric=SlaMetric.FIRST_REPLY)
    ticket = facts.sla_breached(ticket, ticket_id="T-1", metric=SlaMetric.NEXT_REPLY)
    assert ticket.breaches == 2
    assert ticket.first_reply_within is False and ticket.resolution_within is None


def test_a_missed_target_stays_missed_when_a_later_clock_ends_on_time() -> None:
    ticket = facts.sla_met(created(), ticket_id="T-1", metric=SlaMetric.FIRST_REPLY, within_target=True)
    ticket = facts.sla_met(ticket, ticket_id="T-1", metric=SlaMetric.RESOLUTION, within_target=False)
    ticket = facts.sla_met(
        ticket, ticket_id="T-1", metric=SlaMetric.RESOLUTION, within_target=True
    )  # reopened
    assert ticket.first_reply_within is True and ticket.resolution_within is False
    late_next = facts.sla_met(ticket, ticket_id="T-1", metric=SlaMetric.NEXT_REPLY, within_target=False)
    assert late_next == ticket  # next replies show through their sla.breached


def test_sla_events_that_overtake_the_creation_keep_their_facts() -> None:
    early = facts.sla_breached(None, ticket_id="T-1", metric="first_reply")
    early = facts.ticket_triaged(early, ticket_id="T-1", priority="high")
    assert early.created_at is None and early.breaches == 1
    ticket = facts.ticket_created(early, ticket_id="T-1", at=T0, channel="chat", priority="low")
    assert (ticket.created_at, ticket.channel, ticket.priority, ticket.breaches) == (T0, "chat", "high", 1)
