"""The composition root: settings in, a FastAPI app out, whose lifespan runs the consumer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import redis.exceptions
from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis

from helpdesk_events import CustomerErased, TicketCreated, Topic
from helpdesk_events.http_observability import observe_http
from helpdesk_events.runtime import EventRuntime
from helpdesk_events.service import (
    ReadinessCheck,
    install_error_handlers,
    mongo_client,
    ops_router,
    ping_mongo,
)
from helpdesk_notifier import api
from helpdesk_notifier.customer_erasure import NotifierErasure
from helpdesk_notifier.deliverer import Deliverer, DeliveryBusy
from helpdesk_notifier.delivery_guard import RedisDeliveryGuard
from helpdesk_notifier.delivery_store import MongoDeliveryStore
from helpdesk_notifier.handlers import AssignmentPosts, NotifierHandlers
from helpdesk_notifier.ports import ChatClient, Mailer
from helpdesk_notifier.recording import RecordingChatClient
from helpdesk_notifier.retry import RetryPolicy
from helpdesk_notifier.routing import load_routes
from helpdesk_notifier.settings import Settings
from helpdesk_notifier.slack import SlackChatClient
from helpdesk_notifier.slack_rate import SlackRateLimiter
from helpdesk_notifier.smtp import SmtpMailer
from helpdesk_notifier.ticket_projection import MongoTicketProjection

SERVICE = "notifier"
# Redis down means "try this event again later", never "this event is bad".
REDIS_OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# Another worker holds the delivery (or a crashed one did, until its lease lapses): retry, never dead-letter.
HELD_ELSEWHERE = (*REDIS_OUTAGES, DeliveryBusy)
CONSUMER_GROUP = "notifier"

log = logging.getLogger(__name__)


def build_chat_client(settings: Settings) -> ChatClient:
    if settings.slack_bot_token is None:
        log.warning("SLACK_BOT_TOKEN is not set: Slack messages are recorded, not posted")
        return RecordingChatClient()
    return SlackChatClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout_seconds=settings.slack_timeout_seconds,
    )


def build_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.delivery_max_attempts,
        base_delay=settings.delivery_base_delay_seconds,
        max_delay=settings.delivery_max_delay_seconds,
        outage_seconds=settings.delivery_outage_seconds,
    )


def create_app(
    settings: Settings, *, chat: ChatClient | None = None, mailer: Mailer | None = None
) -> FastAPI:
    """`chat` and `mailer` replace the Slack and SMTP adapters (test doubles); the rest is always real."""
    checks: dict[str, ReadinessCheck] = {}
    # A bad routes file stops the notifier here, before anything starts (RoutesError names the field).
    routes = load_routes(settings.notifier_routes_file, default_from=settings.email_from)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:  # unwinds in reverse order, also when a start fails
            runtime = EventRuntime(
                settings,
                service=SERVICE,
                group_id=CONSUMER_GROUP,
                # customer.erased: the right to erasure; sla: alerts and due times; feedback: surveys, shout-outs.
                topics=[Topic.TICKETS, Topic.CUSTOMERS, Topic.SLA, Topic.FEEDBACK],
                infrastructure_errors=HELD_ELSEWHERE,
            )

            mongo = mongo_client(settings)
            stack.push_async_callback(mongo.close)
            database = mongo[settings.mongodb_database]
            deliveries = MongoDeliveryStore(database["deliveries"])
            await deliveries.create_indexes()

            # Deliveries waiting out a Slack outage each renew a guard and wait for their channel's turn in
            # Redis: beyond the pool's connections a call waits for one, where the default pool refused it
            # ("Too many connections", seen with some 1,400 waiting).
            redis = Redis.from_pool(BlockingConnectionPool.from_url(settings.redis_url, max_connections=64))
            stack.push_async_callback(redis.aclose)

            chat_client = chat or build_chat_client(settings)
            stack.push_async_callback(chat_client.close)

            tickets = MongoTicketProjection(database["tickets"])
            posts = AssignmentPosts(chat_client, tickets)
            handlers = NotifierHandlers(
                tickets=tickets,
                deliverer=Deliverer(
                    store=deliveries,
                    guard=RedisDeliveryGuard(redis, settings.delivery_guard_ttl_seconds),
                    publisher=runtime.publisher,
                    policy=retry_policy(settings),
                    find_posted=posts.find_posted,
                ),
                mailer=mailer or build_mailer(settings),
                chat=chat_client,
                posts=posts,
                routes=routes,
                rate_limiter=(
                    SlackRateLimiter(redis, settings.slack_channel_interval_seconds)
                    if settings.slack_channel_interval_seconds > 0
                    else None
                ),
                email_domain=settings.email_domain,
                ticket_url=settings.notifier_ticket_url,
            )
            erasure = NotifierErasure(database["tickets"], database["deliveries"], database["erased_requesters"])
            runtime.subscribe(
                {
                    **handlers.handlers(),
                    TicketCreated: erasure.unless_erased(handlers.on_ticket_created),
                    CustomerErased: erasure.on_customer_erased,
                }
            )
            app.state.deliveries = deliveries
            checks.update(kafka=runtime.publisher.check, mongodb=lambda: ping_mongo(mongo), redis=redis.ping)
            # Creates the topics, starts the publisher (waiting for Kafka if need be), then the consumer.
            await runtime.start()
            stack.push_async_callback(runtime.stop)
            yield

    app = FastAPI(
        title="Help desk notifier",
        version="0.1.0",
        description=(
            "Slack messages to agents (assignments with buttons kept up to date, SLA alerts, shout-outs) "
            "and emails to requesters (acknowledgements, agent replies, surveys, status changes), each "
            "delivered at most once, with retries and a rate limit per Slack channel."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(ops_router(checks))
    observe_http(app, SERVICE)
    return app
