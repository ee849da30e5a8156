"""Composition root of the feedback service: survey rules, the surveys' store, the desk, the timer,
the consumer, the survey pages and the summary."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from helpdesk_events import (
    CustomerErased,
    TicketAssigned,
    TicketCreated,
    TicketStatusChanged,
    TicketTriaged,
    TicketUnassigned,
    Topic,
)
from helpdesk_events.erased_requesters import ErasedRequesters
from helpdesk_events.http_observability import observe_http
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import install_error_handlers, mongo_client, ops_router, ping_mongo
from helpdesk_events.timer import Every, timer_lifespan
from helpdesk_feedback.settings import Settings
from helpdesk_feedback.summary_api import refresh_metrics
from helpdesk_feedback.summary_api import router as summary_router
from helpdesk_feedback.survey_config import load_survey_rules
from helpdesk_feedback.survey_desk import SERVICE, SurveyDesk
from helpdesk_feedback.survey_links import SurveyLinks
from helpdesk_feedback.survey_store import MongoSurveyBook
from helpdesk_feedback.survey_web import router as survey_router

# Score gauges cover the last 30 days of surveys and are recomputed this often.
METRICS_EVERY_SECONDS = 60.0


def create_app(settings: Settings) -> FastAPI:
    # A bad surveys file stops the service here, before anything starts (the error names file and field).
    rules = load_survey_rules(settings.feedback_surveys_file)
    mongo = mongo_client(settings)
    book = MongoSurveyBook(mongo[settings.mongodb_database])
    # customers: the right to erasure (surveys keep the requester's address and comments).
    runtime = EventRuntime(settings, service=SERVICE, group_id="feedback", topics=[Topic.TICKETS, Topic.CUSTOMERS])
    secrets = settings.token_secrets()
    desk = SurveyDesk(
        book=book,
        erased=ErasedRequesters(mongo[settings.mongodb_database]["erased_requesters"]),
        publisher=runtime.publisher,
        rules=rules,
        links=SurveyLinks(settings.public_url(), secrets[0]),
        delay=timedelta(seconds=settings.survey_delay_seconds),
        link_ttl=timedelta(seconds=settings.survey_link_ttl_seconds),
        customer_interval=timedelta(seconds=settings.survey_customer_interval_seconds),
        change_window=timedelta(seconds=settings.survey_answer_change_window_seconds),
    )
    runtime.subscribe(
        {
            TicketCreated: desk.ticket_created,
            TicketTriaged: desk.ticket_triaged,
            TicketAssigned: desk.ticket_assigned,
            TicketUnassigned: desk.ticket_unassigned,
            TicketStatusChanged: desk.status_changed,
            CustomerErased: desk.customer_erased,
        }
    )

    metrics_due = Every(METRICS_EVERY_SECONDS)

    async def tick() -> None:
        await desk.tick()
        if metrics_due.due():
            await refresh_metrics(book)

    lifespan = timer_lifespan(runtime=runtime, mongo=mongo, prepare=book.create_indexes, tick=tick,
                              interval=settings.feedback_timer_interval_seconds, what="feedback surveys")  # fmt: skip

    app = FastAPI(
        title="Help desk feedback",
        description=(
            "CSAT, NPS and CES surveys sent when a ticket is solved (survey.sent, emailed by the notifier), "
            "survey pages at /s/{token} that take answers with a confirming POST (feedback.received, and "
            "feedback.follow_up_requested on a low score), and scores per agent, team and channel "
            "(GET /v1/feedback/summary)."
        ),
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.desk = desk
    app.state.surveys = book
    app.state.token_secrets = secrets
    install_error_handlers(app)
    app.include_router(survey_router)
    app.include_router(summary_router)
    app.include_router(ops_router({"kafka": runtime.publisher.check, "mongodb": lambda: ping_mongo(mongo)}))
    observe_http(app, SERVICE)
    return app
