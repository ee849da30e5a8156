"""Fixtures of the router's integration tests: settings on the session's servers, a publisher
playing intake, and taps on the topics the router writes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpdesk_events import Topic, TopicNames
from helpdesk_events.kafka import ensure_topics
from helpdesk_events.publisher import EventPublisher
from helpdesk_router.settings import Settings
from tests.support.apps import drop_database, settings_for_test
from tests.support.kafka import EventTap, publishing


@pytest.fixture
async def settings(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str
) -> AsyncIterator[Settings]:
    settings = settings_for_test(
        Settings,
        "router",
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix,
        # The session's broker is shared: a group per test keeps tests from rebalancing each other.
        router_consumer_group=f"{topic_prefix}router",
    )
    await ensure_topics(settings.kafka("router-tests"))
    yield settings
    await drop_database(mongodb_url, settings.mongodb_database)


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[EventPublisher]:
    """Publishes ticket events as intake would."""
    async with publishing(settings, "intake") as publisher:
        yield publisher


@pytest.fixture
async def tickets(settings: Settings, kafka_bootstrap: str) -> AsyncIterator[EventTap]:
    async with EventTap(kafka_bootstrap, TopicNames(settings.kafka_topic_prefix).name(Topic.TICKETS)) as tap:
        yield tap


@pytest.fixture
async def agents_topic(settings: Settings, kafka_bootstrap: str) -> AsyncIterator[EventTap]:
    async with EventTap(kafka_bootstrap, TopicNames(settings.kafka_topic_prefix).name(Topic.AGENTS)) as tap:
        yield tap


@pytest.fixture
async def dead_letters(settings: Settings, kafka_bootstrap: str) -> AsyncIterator[EventTap]:
    async with EventTap(kafka_bootstrap, TopicNames(settings.kafka_topic_prefix).name(Topic.DEAD_LETTER)) as tap:
        yield tap
