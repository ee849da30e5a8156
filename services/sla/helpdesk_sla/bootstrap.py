"""Composition root of the SLA service: policies, the clocks' store, the desk, the timer, the consumer."""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI

from helpdesk_events import (
    Envelope,
    SlaBreached,
    SlaMet,
    TicketAssigned,
    TicketCreated,
    TicketMessageAdded,
    TicketPriorityChanged,
    TicketStatusChanged,
    TicketTriaged,
    Topic,
)
from helpdesk_events.consumer import Handler
from helpdesk_events.http_observability import observe_http
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import install_error_handlers, mongo_client, ops_router, ping_mongo
from helpdesk_events.timer import Every, timer_lifespan
from helpdesk_sla.calendar import ALWAYS_OPEN, BusinessCalendar
from helpdesk_sla.clock_store import MongoClockBook
from helpdesk_sla.desk import SERVICE, SlaDesk
from helpdesk_sla.fact_handlers import FactsRecorder
from helpdesk_sla.facts_store import MongoFactsBook
from helpdesk_sla.policies import SlaConfig, load_config_file
from helpdesk_sla.policies_api import router as policies_router
from helpdesk_sla.policy_store import MongoPolicyBook
from helpdesk_sla.reports_api import refresh_metrics
from helpdesk_sla.reports_api import router as reports_router
from helpdesk_sla.settings import Settings
from helpdesk_sla.ticket_facts import TicketFacts

log = logging.getLogger(__name__)

# Report gauges cover the last day of tickets and are recomputed this often.
METRICS_EVERY_SECONDS = 60.0


def in_turn(*handlers: Handler) -> Handler:
    """One event to several idempotent handlers (clocks, report facts): a retry runs them all again."""

    async def handle(envelope: Envelope) -> None:
        for handler in handlers:
            await handler(envelope)

    return handle


def create_app(settings: Settings) -> FastAPI:
    # A bad policies file stops the service here, before anything starts (the error names policy and field).
    initial = load_config_file(settings.sla_policies_file) if settings.sla_policies_file else None
    mongo = mongo_client(settings)
    db = mongo[settings.mongodb_database]
    policies = MongoPolicyBook(db)
    book = MongoClockBook(db)
    facts = MongoFactsBook(db)
    # The sla topic too: the report facts count the breaches and met clocks this service told.
    runtime = EventRuntime(settings, service=SERVICE, group_id="sla", topics=[Topic.TICKETS, Topic.SLA])

    async def config_in_force() -> SlaConfig:
        return (await policies.current())[1]

    desk = SlaDesk(
        book=book,
        config=config_in_force,
        publisher=runtime.publisher,
        late_after=timedelta(seconds=settings.sla_late_after_seconds),
    )
    recorder = FactsRecorder(facts)
    runtime.subscribe(
        {
            TicketCreated: in_turn(desk.ticket_created, recorder.on_ticket_created),
            TicketTriaged: in_turn(desk.ticket_triaged, recorder.on_ticket_triaged),
            TicketAssigned: recorder.on_ticket_assigned,
            TicketPriorityChanged: in_turn(desk.priority_changed, recorder.on_priority_changed),
            TicketMessageAdded: in_turn(desk.message_added, recorder.on_message_added),
            TicketStatusChanged: in_turn(desk.status_changed, recorder.on_status_changed),
            SlaBreached: recorder.on_sla_breached,
            SlaMet: recorder.on_sla_met,
        }
    )

    async def calendar_of():  # type: ignore[no-untyped-def]
        """Which business calendar measures a ticket in the reports: its policy's, as the policies are now."""
        config = await config_in_force()

        def of(ticket: TicketFacts) -> BusinessCalendar:
            chosen = config.choose(ticket.priority or "normal", customer_tier=None, channel=ticket.channel)
            return chosen.calendar if chosen is not None else ALWAYS_OPEN

        return of

    metrics_due = Every(METRICS_EVERY_SECONDS)

    async def tick() -> None:
        await desk.tick()
        if metrics_due.due():
            await refresh_metrics(facts, calendar_of)

    async def prepare() -> None:
        await book.create_indexes()
        await facts.create_indexes()
        if initial is not None:
            await policies.seed(initial)

    lifespan = timer_lifespan(runtime=runtime, mongo=mongo, prepare=prepare, tick=tick,
                              interval=settings.sla_timer_interval_seconds, what="SLA clocks")  # fmt: skip

    app = FastAPI(
        title="Help desk SLA",
        description=(
            "SLA policies on business-hours calendars (GET/PUT /v1/policies); first-reply, next-reply and "
            "resolution clocks per ticket with pauses, warnings before breach and breaches, told as sla.* "
            "events by a durable timer; response-time reports (GET /v1/reports/response-times)."
        ),
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.policies = policies
    app.state.facts = facts
    app.state.calendar_of = calendar_of
    async def retarget_open_clocks() -> None:
        # The new policies are stored already: a failure here is logged, not answered as a failed PUT.
        try:
            await desk.retarget_all()
        except Exception:
            log.exception("re-targeting open clocks after a policy change failed; they keep their targets")

    app.state.on_policies_changed = retarget_open_clocks
    install_error_handlers(app)
    app.include_router(policies_router)
    app.include_router(reports_router)
    app.include_router(ops_router({"kafka": runtime.publisher.check, "mongodb": lambda: ping_mongo(mongo)}))
    observe_http(app, SERVICE)
    return app
