"""Composition root of intake: settings in, a FastAPI app out; nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helpdesk_events import CustomerErased, Topic
from helpdesk_events.http_observability import observe_http
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import install_error_handlers, mongo_client, ops_router, ping_mongo
from helpdesk_intake import agent_actions, api, customer_api, follow_ups, slack_interactions
from helpdesk_intake.body_limit import BodySizeLimit
from helpdesk_intake.channels import chat_api, email_api, social_api, voice_api
from helpdesk_intake.channels.channel_intake import ChannelIntake
from helpdesk_intake.channels.email_channel import EmailChannel
from helpdesk_intake.channels.inbound_desk import InboundDesk
from helpdesk_intake.customer_erasure import CustomerErasure
from helpdesk_intake.customers import CustomerDirectory
from helpdesk_intake.feedback_reopen import FeedbackReopener
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.intake import NotAcknowledged, TicketIntake
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
    customers = CustomerDirectory(mongo[settings.mongodb_database])
    projector = ReadModelProjector(read_model, customers)
    runtime = EventRuntime(
        settings,
        service=SERVICE,
        group_id=settings.read_model_group_id,
        # notification.sent: Message-IDs mail replies answer; customer.erased: the right to erasure;
        # sla.*: the clocks GET /v1/tickets/{ticket_id} shows; feedback.follow_up_requested: reopenings
        topics=[Topic.TICKETS, Topic.NOTIFICATIONS, Topic.CUSTOMERS, Topic.SLA, Topic.FEEDBACK],
        handlers=projector.handlers(),
        # A reopening Kafka does not acknowledge says nothing about the follow-up: read it again once
        # Kafka is back rather than dead-letter it.
        infrastructure_errors=(NotAcknowledged,),
    )
    kafka = KafkaLink(runtime, retry_seconds=settings.kafka_connect_retry_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await customers.create_indexes()
        await kafka.start()  # does not fail when Kafka is down: it keeps trying in the background
        try:
            if "email" in channels:
                await email.start()  # the SMTP listener
            try:
                yield
            finally:
                await email.stop()
                await desk.close()
        finally:
            await kafka.stop()
            await mongo.close()

    app = FastAPI(
        title="Help desk intake",
        description="Turns inbound customer traffic into ticket events and serves the ticket read model.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.intake = TicketIntake(
        runtime.publisher, projector, settings.publish_timeout_seconds, customers=customers
    )
    app.state.customers = customers
    app.state.customer_erasure = CustomerErasure(
        mongo[settings.mongodb_database], customers, runtime.publisher, settings.publish_timeout_seconds
    )
    runtime.subscribe({CustomerErased: app.state.customer_erasure.on_customer_erased})
    app.state.read_model = read_model
    channels = settings.intake_channels
    desk = InboundDesk(settings, mongo, app.state.intake)
    # Subscribed in every process: whichever holds a partition records its sent Message-IDs.
    email = EmailChannel(settings, mongo, read_model, desk)
    runtime.subscribe(email.handlers())
    app.state.email_channel = email
    app.state.email_intake = email.intake
    app.state.ticket_actions = TicketActions(read_model, app.state.intake)
    runtime.subscribe(FeedbackReopener(app.state.ticket_actions).handlers())
    app.state.slack_verifier = slack_verifier(settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.state.channel_intake = ChannelIntake(
        once=desk.once, threads=desk.threads, read_model=read_model, customers=customers, guard=desk.guard
    )
    app.state.social_secrets = {
        network: secret.get_secret_value() for network, secret in settings.social_webhook_secrets.items()
    }
    app.state.voice_secret = (
        settings.voice_webhook_secret.get_secret_value() if settings.voice_webhook_secret else None
    )
    app.state.voice_thread_window_seconds = settings.voice_thread_window_seconds
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(customer_api.router)
    # Only the chosen channels' ways in (`--channels`, INTAKE_CHANNELS); reading tickets, customers
    # and the ops routes are in every process.
    channel_routers = {
        "web": [api.web_router, agent_actions.router, follow_ups.router, slack_interactions.router],
        "email": [email_api.router],
        "chat": [chat_api.router],
        "social": [social_api.router],
        "voice": [voice_api.router],
    }
    for channel in channels:
        for router in channel_routers[channel]:
            app.include_router(router)
    app.include_router(
        ops_router({"kafka": kafka.check, "mongodb": lambda: ping_mongo(mongo), "redis": desk.check_redis})
    )
    observe_http(app, SERVICE)
    return app


def slack_verifier(settings: Settings) -> SlackSignatureVerifier | None:
    """None turns Slack interactivity off (503): worth a warning where Slack should be wired up."""
    if settings.slack_signing_secret is None:
        if settings.environment not in ("local", "test"):
            log.warning("SLACK_SIGNING_SECRET is not set: POST /v1/slack/interactions answers 503")
        return None
    return SlackSignatureVerifier(settings.slack_signing_secret.get_secret_value())
