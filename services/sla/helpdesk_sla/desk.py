"""The SLA desk: ticket events and the durable timer in, sla.* events out, through the pure clocks.

Every step reads the ticket's record, tells first what fell due before the event (`clocks.due`),
applies the event (`clocks.start`, `on_message`, `on_status`, `retarget`), and writes the new state,
the applied event's id and the events to tell in one guarded write (see clock_store.py). Only then
are the events published, and taken out of the outbox once Kafka has them. So a replayed ticket
event changes nothing, a crash never loses a decided event, and a warning or breach is told at most
once (with the same event id if it must be told again).

The timer (`tick`) runs every SLA_TIMER_INTERVAL_SECONDS on every instance: it asks MongoDB for the
tickets whose next warning or breach has come and tells them; after a restart it tells those that
fell due while the service was down, a breach marked late when more than SLA_LATE_AFTER_SECONDS
past its due time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter

from helpdesk_events import (
    Envelope,
    Priority,
    SlaBreached,
    SlaWarning,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketTriaged,
)
from helpdesk_events.consumer import ticket_id_of
from helpdesk_events.outbox import Told, Turns, outbox_entry, publish_told
from helpdesk_events.publisher import EventPublisher
from helpdesk_sla import clocks as sla
from helpdesk_sla.clock_store import ClockRecord, MongoClockBook
from helpdesk_sla.policies import ChosenPolicy, SlaConfig

log = logging.getLogger(__name__)

# Escalation on a breach: one step up, and urgent stays urgent.
_ONE_STEP_UP = {Priority.LOW: Priority.NORMAL, Priority.NORMAL: Priority.HIGH, Priority.HIGH: Priority.URGENT}

SERVICE = "sla"
_EVENT_IDS = uuid.UUID("0d7c2f9e-5b1a-4c8e-9f3d-6a2b1e4c7d90")
_SAVE_ATTEMPTS = 5

# Counted when decided, by the guarded write that stores them: an event told again never counts twice.
SLA_WARNINGS = Counter("helpdesk_sla_clock_warnings_total", "SLA warnings decided, by metric and policy.",
                       ["metric", "policy"])  # fmt: skip
SLA_BREACHES = Counter("helpdesk_sla_clock_breaches_total", "SLA breaches decided, by metric and policy.",
                       ["metric", "policy"])  # fmt: skip

# A change to a ticket's clocks: (clocks, config in force, moment, ticket context) -> the same three, and events.
Step = Callable[[sla.TicketClocks | None, SlaConfig, datetime, dict], tuple[sla.TicketClocks | None, list, dict]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConcurrentClockUpdate(Exception):
    """Another instance kept writing the ticket's clocks; the event is tried again later."""


class SlaDesk:
    def __init__(
        self,
        *,
        book: MongoClockBook,
        config: Callable[[], Any],
        publisher: EventPublisher,
        late_after: timedelta,
        clock: Callable[[], datetime] = utc_now,
        batch: int = 200,
    ) -> None:
        self._book = book
        self._config = config  # an async callable giving the SlaConfig in force
        self._publisher = publisher
        self._late_after = late_after
        self._clock = clock
        self._batch = batch
        self._turns = Turns()

    # ---- ticket events ---------------------------------------------------------------------------

    async def ticket_created(self, envelope: Envelope[TicketCreated]) -> None:
        created = envelope.payload
        context = {"channel": created.channel.value, "customer_tier": created.customer_tier, "named": None}

        def step(clocks: sla.TicketClocks | None, config: SlaConfig, at: datetime, known: dict):  # type: ignore[no-untyped-def]
            if clocks is not None:
                return clocks, [], known
            chosen = config.choose(created.priority, customer_tier=created.customer_tier, channel=created.channel)
            if chosen is None:
                log.info("ticket %s: no SLA policy for priority %s", envelope.ticket_id, created.priority)
                return None, [], context
            started, events = sla.start(
                ticket_id_of(envelope), priority=created.priority, channel=created.channel.value,
                customer_tier=created.customer_tier, at=at, chosen=chosen,
            )  # fmt: skip
            return started, events, context

        await self._apply(ticket_id_of(envelope), envelope.id, envelope.occurred_at, step)

    async def ticket_triaged(self, envelope: Envelope[TicketTriaged]) -> None:
        triaged = envelope.payload

        def step(clocks: sla.TicketClocks | None, config: SlaConfig, at: datetime, context: dict):  # type: ignore[no-untyped-def]
            named = {**context, "named": triaged.sla_policy}
            if clocks is None:
                return None, [], named
            retargeted = _retarget(clocks, config, context, triaged.priority, named=triaged.sla_policy, at=at)
            updated, events = retargeted or (clocks, [])
            return updated, events, named

        await self._apply(ticket_id_of(envelope), envelope.id, envelope.occurred_at, step)

    async def priority_changed(self, envelope: Envelope[TicketPriorityChanged]) -> None:
        """A priority change after triage (an agent, or this service's own escalation): open clocks follow."""
        change = envelope.payload

        def on_clocks(clocks, config, at, context):  # type: ignore[no-untyped-def]
            if clocks is None or clocks.priority is change.to_priority:
                return clocks, [], context
            retargeted = _retarget(clocks, config, context, change.to_priority, named=clocks.policy_name, at=at)
            updated, events = retargeted or (replace(clocks, priority=change.to_priority), [])
            return updated, events, context

        await self._apply(ticket_id_of(envelope), envelope.id, envelope.occurred_at, on_clocks)

    async def message_added(self, envelope: Envelope[TicketMessageAdded]) -> None:
        message = envelope.payload

        def step(clocks: sla.TicketClocks, chosen: ChosenPolicy, at: datetime, config: SlaConfig):  # type: ignore[no-untyped-def]
            return sla.on_message(clocks, author_kind=message.author_kind, public=message.public, at=at, chosen=chosen)

        await self._apply_to_clocks(envelope, step)

    async def status_changed(self, envelope: Envelope[TicketStatusChanged]) -> None:
        change = envelope.payload

        def step(clocks: sla.TicketClocks, chosen: ChosenPolicy, at: datetime, config: SlaConfig):  # type: ignore[no-untyped-def]
            return sla.on_status(clocks, to_status=change.to_status, at=at, chosen=chosen,
                                 on_hold_pauses=config.on_hold_pauses)  # fmt: skip

        await self._apply_to_clocks(envelope, step)

    # ---- the durable timer -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Tell what has fallen due, and what an earlier failure left untold; how many tickets moved."""
        moved = 0
        for ticket_id in await self._book.pending(self._batch):
            async with self._turns.of(ticket_id):  # after a handler telling it: then nothing is left
                record = await self._book.get(ticket_id)
                if record is not None:
                    await self._tell(record)
        now = self._clock()
        for ticket_id in await self._book.due(now, self._batch):
            await self._apply(ticket_id, None, now, _nothing)
            moved += 1
        return moved

    async def retarget_all(self) -> None:
        """The policies changed: every open clock gets its policy's target again."""
        for ticket_id in await self._book.open_tickets():

            def step(clocks: sla.TicketClocks | None, config: SlaConfig, at: datetime, context: dict):  # type: ignore[no-untyped-def]
                if clocks is None:
                    return None, [], context
                retargeted = _retarget(clocks, config, context, clocks.priority, named=context.get("named"), at=at)
                updated, events = retargeted or (clocks, [])
                return updated, events, context

            await self._apply(ticket_id, None, self._clock(), step)

    # ---- the one way a ticket's clocks change ----------------------------------------------------

    async def _apply_to_clocks(self, envelope: Envelope, step) -> None:  # type: ignore[no-untyped-def]
        """A step on a ticket that runs clocks (it gets the ticket's policy and the document in force);
        a ticket without any is left alone."""

        def on_clocks(clocks: sla.TicketClocks | None, config: SlaConfig, at: datetime, context: dict):  # type: ignore[no-untyped-def]
            if clocks is None:
                return None, [], context
            chosen = self._chosen(clocks, config, context)
            if chosen is None:
                return clocks, [], context
            updated, events = step(clocks, chosen, at, config)
            return updated, events, context

        await self._apply(ticket_id_of(envelope), envelope.id, envelope.occurred_at, on_clocks)

    async def _apply(self, ticket_id: str, event_id: uuid.UUID | None, at: datetime, step) -> None:  # type: ignore[no-untyped-def]
        async with self._turns.of(ticket_id):  # the write and its telling, before anyone else's
            await self._apply_in_turn(ticket_id, event_id, at, step)

    async def _apply_in_turn(self, ticket_id: str, event_id: uuid.UUID | None, at: datetime, step) -> None:  # type: ignore[no-untyped-def]
        applied = str(event_id) if event_id is not None else None
        for _ in range(_SAVE_ATTEMPTS):
            record = await self._book.get(ticket_id) or ClockRecord(ticket_id, 0, None)
            if applied is not None and applied in record.applied:
                await self._tell(record)  # a replay: tell what may still be untold, change nothing
                return
            config = await self._config()
            context = dict(record.context or {})
            clocks, told = record.clocks, []
            chosen = self._chosen(clocks, config, context) if clocks is not None else None
            # What fell due before this event is told first (a restart after an outage, say).
            moment = at
            if clocks is not None and chosen is not None:
                clocks, told = sla.due(clocks, now=moment, chosen=chosen, warning_share=config.warning_share,
                                       late_after=self._late_after)  # fmt: skip
                clocks, told = self._escalate(clocks, told, chosen, config, context, moment)
            clocks, more, context = step(clocks, config, at, context)
            told = [*told, *more]
            chosen = self._chosen(clocks, config, context) if clocks is not None else None
            wakeup = sla.next_wakeup(clocks, chosen, config.warning_share) if clocks and chosen else None
            outbox = [self._told(ticket_id, record.revision + 1, index, payload, moment)
                      for index, payload in enumerate(told)]  # fmt: skip
            saved = await self._book.save(record, clocks, applied=applied, outbox=outbox, wakeup=wakeup,
                                          context=context)  # fmt: skip
            if saved is not None:
                _count_alerts(told)
                await self._tell(saved)
                return
        raise ConcurrentClockUpdate(ticket_id)

    def _escalate(self, clocks, told, chosen, config, context, at):  # type: ignore[no-untyped-def]
        """A breach under a policy that escalates: the priority goes one step up and the clocks follow it."""
        breached = [event for event in told if isinstance(event, SlaBreached)]
        higher = _ONE_STEP_UP.get(clocks.priority)
        if not breached or not chosen.escalate_on_breach or higher is None:
            return clocks, told
        change = TicketPriorityChanged(
            from_priority=clocks.priority, to_priority=higher, changed_by=SERVICE,
            reason=f"{breached[0].metric.value} breached (policy {chosen.policy_name})",
        )  # fmt: skip
        retargeted = _retarget(clocks, config, context, higher, named=clocks.policy_name, at=at)
        clocks, events = retargeted or (replace(clocks, priority=higher), [])
        return clocks, [*told, change, *events]

    async def _tell(self, record: ClockRecord) -> None:
        if record.outbox:
            await self._book.told(record.ticket_id, await publish_told(self._publisher, record.outbox))

    def _told(self, ticket_id: str, revision: int, index: int, payload: Any, at: datetime) -> Told:
        event_id = uuid.uuid5(_EVENT_IDS, f"{ticket_id}/{revision}/{index}")
        return outbox_entry(payload, source=SERVICE, ticket_id=ticket_id, event_id=event_id, at=at)

    @staticmethod
    def _chosen(clocks: sla.TicketClocks, config: SlaConfig, context: dict) -> ChosenPolicy | None:
        return config.choose(clocks.priority, customer_tier=context.get("customer_tier"),
                             channel=context.get("channel"), named=clocks.policy_name)  # fmt: skip


def _count_alerts(told: list) -> None:
    for event in told:
        if isinstance(event, (SlaWarning, SlaBreached)):
            counter = SLA_WARNINGS if isinstance(event, SlaWarning) else SLA_BREACHES
            counter.labels(event.metric.value, event.policy).inc()


def _retarget(clocks, config, context, priority, *, named, at):  # type: ignore[no-untyped-def]
    """Open clocks onto `priority`'s targets under the policy chosen for it now; None when no policy
    covers that priority (the caller says what the clocks do then)."""
    chosen = config.choose(priority, customer_tier=context.get("customer_tier"), channel=context.get("channel"),
                           named=named)  # fmt: skip
    return sla.retarget(clocks, priority=priority, at=at, chosen=chosen) if chosen is not None else None


def _nothing(clocks, config, at, context):  # type: ignore[no-untyped-def]
    """The timer's step: only what fell due is told."""
    return clocks, [], context
