"""Fixtures of intake's integration tests: settings on the session's servers, a fresh database each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from helpdesk_events.tracing import configure_tracing
from helpdesk_intake.settings import Settings
from tests.integration.intake.helpers import intake_settings
from tests.support.apps import drop_database


@pytest.fixture
async def settings(
    kafka_bootstrap: str, mongodb_url: str, redis_url: str, topic_prefix: str, mongo_db_prefix: str
) -> AsyncIterator[Settings]:
    configure_tracing("intake-tests")  # real span ids, so traceparent headers are written
    settings = intake_settings(kafka_bootstrap, mongodb_url, topic_prefix, mongo_db_prefix, redis_url=redis_url)
    yield settings
    await drop_database(mongodb_url, settings.mongodb_database)
