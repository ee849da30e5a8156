"""Composition root of intake: settings in, a FastAPI app out; nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from helpdesk_events import Topic
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import mongo_client, ops_router, ping_mongo
from helpdesk_intake import api
from helpdesk_intake.body_limit import BodySizeLimit
from helpdesk_intake.handlers import ReadModelProjector
from helpdesk_intake.intake import TicketIntake
from helpdesk_intake.kafka_link import KafkaLink
from helpdesk_intake.read_model import TICKETS_COLLECTION, TicketReadModel
from helpdesk_intake.settings import Settings

SERVICE = "intake"


def create_app(settings: Settings) -> FastAPI:
    mongo = mongo_client(settings)
    read_model = TicketReadModel(mongo[settings.mongodb_database][TICKETS_COLLECTION])
    projector = ReadModelProjector(read_model)
    runtime = EventRuntime(
        settings,
        service=SERVICE,
        group_id=settings.read_model_group_id,
        topics=[Topic.TICKETS],
        handlers=projector.handlers(),
    )
    kafka = KafkaLink(runtime, retry_seconds=settings.kafka_connect_retry_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await kafka.start()  # does not fail when Kafka is down: it keeps trying in the background
        try:
            yield
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
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(api.router)
    app.include_router(ops_router({"kafka": kafka.check, "mongodb": lambda: ping_mongo(mongo)}))
    return app
