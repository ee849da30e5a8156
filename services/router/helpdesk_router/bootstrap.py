"""Composition root of the router: Mongo stores, triage, the desk, the roster and rules APIs, the faust tickets stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helpdesk_events.http_observability import observe_http
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import mongo_client, ops_router, ping_mongo
from helpdesk_router import api, rules_api
from helpdesk_router.assignment import SERVICE
from helpdesk_router.desk import AssignmentDesk
from helpdesk_router.handlers import ticket_handlers
from helpdesk_router.queue_api import router as queue_router
from helpdesk_router.queue_view import QueueView
from helpdesk_router.roster_service import RosterService
from helpdesk_router.rule_file import load_rule_file
from helpdesk_router.settings import Settings
from helpdesk_router.store import MongoAssignmentBook, MongoRoster, MongoTicketQueue, prepare
from helpdesk_router.stream import TicketStream
from helpdesk_router.triage_service import TicketTriage
from helpdesk_router.triage_store import MongoRuleBook, MongoTriageBook


def create_app(settings: Settings) -> FastAPI:
    # A bad rules file stops the router here, before anything starts (RuleFileError names rule and field).
    initial_rules = load_rule_file(settings.router_rules_file) if settings.router_rules_file else None
    mongo = mongo_client(settings)
    db = mongo[settings.mongodb_database]
    roster = MongoRoster(db)
    queue_view = QueueView(db)  # read-only: GET /v1/queue and the queue and load gauges

    runtime = EventRuntime(settings, service=SERVICE, group_id=settings.router_consumer_group)
    desk = AssignmentDesk(
        roster=roster,
        assignments=MongoAssignmentBook(db),
        queue=MongoTicketQueue(db),
        events=runtime.publisher,
        queue_batch=settings.router_queue_batch,
    )
    triage = TicketTriage(rules=MongoRuleBook(db), decisions=MongoTriageBook(db), events=runtime.publisher)
    runtime.subscribe(ticket_handlers(desk, triage))  # the desk publishes through the runtime's publisher
    roster_service = RosterService(roster=roster, events=runtime.publisher, desk=desk)

    async def sweep() -> None:
        """Whatever an earlier failure left: unsent status changes, unfinished hand-backs, queued
        tickets capacity could take (an agent's shift starting, say)."""
        await roster_service.announce_pending()
        await desk.sweep()
        await queue_view.refresh()  # the queue and load gauges of /metrics

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()  # topics first: faust does not create the topics it reads
        stream = TicketStream(settings, runtime.dispatcher, sweep)
        try:
            await prepare(db)  # indexes, and what older routers stored differently
            if initial_rules is not None:
                await triage.seed_rules(initial_rules)
            await desk.reconcile()  # a crash may have left a load one too high
            await sweep()
            await stream.start()
            yield
        finally:
            await stream.stop()
            await runtime.stop()
            await mongo.close()

    app = FastAPI(
        title="Help desk router",
        description=(
            "Triages each new ticket with ordered rules (priority, category, tags, skills, team, SLA policy), "
            "keeps the agent roster and gives the ticket to one agent who is online, on shift, in the "
            "ticket's team, with the skills it needs and room for its channel (fewest open tickets first), "
            "or queues it until one is; takes tickets back when their agent declines or goes away."
        ),
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.roster = roster_service
    app.state.triage = triage
    app.state.queue_view = queue_view
    app.include_router(api.router)
    app.include_router(rules_api.router)
    app.include_router(queue_router)
    app.include_router(ops_router({"kafka": runtime.publisher.check, "mongodb": lambda: ping_mongo(mongo)}))
    observe_http(app, SERVICE)
    return app
