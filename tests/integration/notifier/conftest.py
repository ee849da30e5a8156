"""The notifier running in-process against the session's real servers, Slack fake and SMTP capture."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest

from devtools.fake_slack import FakeSlack
from devtools.servers import SmtpCapture
from helpdesk_events import Topic
from helpdesk_events.publisher import EventPublisher
from helpdesk_notifier.bootstrap import create_app
from helpdesk_notifier.settings import Settings
from tests.conftest import SLACK_TEST_TOKEN
from tests.support.apps import running_app, settings_for_test
from tests.support.kafka import EventTap


@pytest.fixture
def notifier_settings(
    kafka_bootstrap: str,
    topic_prefix: str,
    mongodb_url: str,
    mongo_db_prefix: str,
    redis_url: str,
    smtp_capture: SmtpCapture,
    fake_slack: FakeSlack,
) -> Settings:
    return settings_for_test(
        Settings,
        "notifier",
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix,
        kafka_topic_partitions=2,
        redis_url=redis_url,
        smtp_host=smtp_capture.host,
        smtp_port=smtp_capture.port,
        email_from="Support <support@helpdesk.test>",
        email_domain="helpdesk.test",
        slack_bot_token=SLACK_TEST_TOKEN,
        slack_api_url=fake_slack.url,
        delivery_max_attempts=3,
        delivery_outage_seconds=0,  # fail after the 3 attempts: the tests of a delivery that never gets through
        delivery_base_delay_seconds=0.01,
        delivery_max_delay_seconds=0.05,
        delivery_guard_ttl_seconds=60,
    )


@dataclass
class RunningNotifier:
    http: httpx.AsyncClient
    tickets: EventPublisher  # publishes what intake and the router would
    notifications: EventTap
    dead_letters: EventTap

    async def deliveries(self, ticket_id: str) -> list[dict]:
        response = await self.http.get("/v1/deliveries", params={"ticket_id": ticket_id})
        assert response.status_code == 200, response.text
        return response.json()["deliveries"]


@pytest.fixture
def run_notifier() -> Callable[[Settings], AbstractAsyncContextManager[RunningNotifier]]:
    @asynccontextmanager
    async def run(settings: Settings) -> AsyncIterator[RunningNotifier]:
        topics = settings.kafka("test").topics
        bootstrap = settings.kafka_bootstrap_servers
        async with running_app(create_app(settings), startup_timeout=30) as http:
            publisher = EventPublisher(settings.kafka("test"), source="test")
            await publisher.start()
            try:
                async with (
                    EventTap(bootstrap, topics.name(Topic.NOTIFICATIONS)) as notifications,
                    EventTap(bootstrap, topics.name(Topic.DEAD_LETTER)) as dead_letters,
                ):
                    yield RunningNotifier(http, publisher, notifications, dead_letters)
            finally:
                await publisher.stop()

    return run
