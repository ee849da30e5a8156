"""Composition root of intake: settings in, a FastAPI app out; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helpdesk_events import Topic
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import mongo_client, ops_router, ping_mongo
from helpdesk_intake import agent_actions, api, follow_ups, slack_interactions
from helpdesk_intake.body_limit import BodySizeLimit
from helpdesk_intake.channels import email_api
from helpdesk_intake.channels.email_channel import EmailChannel
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.intake import TicketIntake
from helpdesk_intake.kafka_link import KafkaLink
from helpdesk_intake.read_model import TICKETS_COLLECTION, TicketReadModel
from helpdesk_intake.settings import Settings
from helpdesk_intake.slack_signature import SlackSignatureVerifier
from helpdesk_intake.ticket_actions import TicketActions

SERVICE = "intake"

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    mongo = mongo_client(settings)
    read_model = TicketReadModel(mongo[settings.mongodb_database][TICKETS_COLLECTION])
    projector = ReadModelProjector(read_model)
    runtime = EventRuntime(
        settings,
        service=SERVICE,
        group_id=settings.read_model_group_id,
        topics=[Topic.TICKETS, Topic.NOTIFICATIONS],  # notification.sent: Message-IDs mail replies answer
        handlers=projector.handlers(),
    )
    kafka = KafkaLink(runtime, retry_seconds=settings.kafka_connect_retry_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await kafka.start()  # does not fail when Kafka is down: it keeps trying in the background
        try:
            await email.start()
            try:
                yield
            finally:
                await email.stop()
        finally:
            await kafka.stop()
            await mongo.close()

    app = FastAPI(
        title="Help desk intake",
        description="Turns inbound customer traffic into ticket events and serves the ticket read model.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.intake = TicketIntake(runtime.publisher, projector, settings.publish_timeout_seconds)
    app.state.read_model = read_model
    email = EmailChannel(settings, mongo, read_model, app.state.intake)
    runtime.subscribe(email.handlers())
    app.state.email_channel = email
    app.state.email_intake = email.intake
    app.state.ticket_actions = TicketActions(read_model, app.state.intake)
    app.state.slack_verifier = slack_verifier(settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(api.router)
    app.include_router(agent_actions.router)
    app.include_router(follow_ups.router)
    app.include_router(email_api.router)
    app.include_router(slack_interactions.router)
    app.include_router(
        ops_router({"kafka": kafka.check, "mongodb": lambda: ping_mongo(mongo), "redis": email.check_redis})
    )
    return app


def slack_verifier(settings: Settings) -> SlackSignatureVerifier | None:
    """None turns Slack interactivity off (503): worth a warning where Slack should be wired up."""
    if settings.slack_signing_secret is None:
        if settings.environment not in ("local", "test"):
            log.warning("SLACK_SIGNING_SECRET is not set: POST /v1/slack/interactions answers 503")
        return None
    return SlackSignatureVerifier(settings.slack_signing_secret.get_secret_value())
