"""Running a service in-process against the session's real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from helpdesk_events.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def settings_for_test(
    settings_class: type[S],
    service: str,
    *,
    kafka_bootstrap: str,
    mongodb_url: str,
    topic_prefix: str,
    mongo_db_prefix: str,
    **overrides: Any,
) -> S:
    """The service's settings on this test's topics and database.

    The short session timeout matters on the embedded broker: a group joins after about half of it.
    """
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_topic_prefix": topic_prefix,
        "kafka_topic_partitions": 3,
        "kafka_session_timeout_ms": 3000,
        "kafka_heartbeat_interval_ms": 500,
        "kafka_fetch_max_wait_ms": 50,
        "consumer_max_attempts": 2,
        "mongodb_url": mongodb_url,
        "mongodb_database": f"{mongo_db_prefix}{service}",
    }
    return settings_class(**{**values, **overrides})


@asynccontextmanager
async def running_app(
    app: FastAPI, base_url: str = "http://test", startup_timeout: float = 60, shutdown_timeout: float = 15
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan started (consumers running), and a client talking to it in-process."""
    async with LifespanManager(app, startup_timeout=startup_timeout, shutdown_timeout=shutdown_timeout) as manager:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url=base_url) as client:
            yield client


async def drop_database(mongodb_url: str, name: str) -> None:
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()
