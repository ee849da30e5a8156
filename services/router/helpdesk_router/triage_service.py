"""Triage of new tickets: decide once per ticket, store it, tell it (same event id on replays)."""

from __future__ import annotations

import logging

from helpdesk_events import TicketCreated, TicketTriaged
from helpdesk_router.assignment import event_id
from helpdesk_router.desk import Clock, utc_now
from helpdesk_router.ports import EventSink, RuleBook, TriageBook
from helpdesk_router.triage import RuleSet, TriageDecision, triage

log = logging.getLogger(__name__)


class TicketTriage:
    def __init__(
        self, *, rules: RuleBook, decisions: TriageBook, events: EventSink, clock: Clock = utc_now
    ) -> None:
        self._rules = rules
        self._decisions = decisions
        self._events = events
        self._clock = clock

    async def seed_rules(self, initial: RuleSet) -> None:
        """The rules file is the initial value: rules stored by PUT /v1/rules (or an earlier seed) win."""
        if await self._rules.seed(initial):
            log.info("triage rules seeded from the rules file (%d rules)", len(initial.rules))
        else:
            log.info(
                "triage rules already stored; the rules file is not applied (PUT /v1/rules to change them)"
            )

    async def rules_in_force(self) -> tuple[int, RuleSet]:
        return await self._rules.current()

    async def replace_rules(self, rule_set: RuleSet) -> int:
        return await self._rules.replace(rule_set)

    async def triage(self, ticket_id: str, ticket: TicketCreated) -> tuple[TriageDecision, bool]:
        """The ticket's decision: the stored one on a replay, else the rules in force now; and whether
        this is the ticket's first triage (no earlier delivery got as far as the desk).

        Stored before it is published, so a crash in between republishes the same decision.
        """
        # Decided, then stored unless stored already: a new ticket (the usual case) needs no read first.
        revision, rule_set = await self._rules.current()
        decided = triage(rule_set, ticket, self._clock())
        decision, first = await self._decisions.record(ticket_id, decided, revision)
        await self._events.emit(
            decision, ticket_id=ticket_id, event_id=event_id(ticket_id, TicketTriaged.event_type)
        )
        return decision, first
