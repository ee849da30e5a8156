"""Running intake in-process against the real servers, and watching its read model."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import httpx

from devtools.servers import EmbeddedKafka
from helpdesk_events.publisher import EventPublisher
from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings
from tests.support.apps import running_app, settings_for_test

FORM = {
    "subject": "Printer on fire",
    "body": "Smoke everywhere.",
    "requester": {"email": "ada@example.com", "name": "Ada"},
    "tags": ["Hardware", "vip", "hardware"],
}


def intake_settings(
    kafka_bootstrap: str, mongodb_url: str, topic_prefix: str, mongo_db_prefix: str, **overrides: Any
) -> Settings:
    return settings_for_test(
        Settings,
        "intake",
        kafka_bootstrap=kafka_bootstrap,
        mongodb_url=mongodb_url,
        topic_prefix=topic_prefix,
        mongo_db_prefix=mongo_db_prefix,
        # The session's broker is shared: a group per test keeps tests from rebalancing each other.
        read_model_group_id=f"{topic_prefix}intake-read-model",
        # Tests run side by side (and next to `make up`): the SMTP listener takes any free port.
        **{"email_smtp_port": 0, **overrides},
    )


def running_intake(settings: Settings) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    return running_app(create_app(settings), base_url="http://intake", startup_timeout=15)


@asynccontextmanager
async def started(publisher: EventPublisher) -> AsyncIterator[EventPublisher]:
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()


async def open_ticket(client: httpx.AsyncClient, **overrides: Any) -> str:
    response = await client.post("/v1/tickets", json={**FORM, **overrides})
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


async def poll(
    client: httpx.AsyncClient, path: str, until: Callable[[httpx.Response], bool], timeout: float = 15.0
) -> httpx.Response:
    """GET `path` until `until` holds; fail with the last answer seen when it never does."""
    last: httpx.Response | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                last = await client.get(path)
                if until(last):
                    return last
                await asyncio.sleep(0.05)
    except TimeoutError:
        seen = f"{last.status_code} {last.text}" if last is not None else "nothing"
        raise AssertionError(f"GET {path} never reached the expected state; last seen: {seen}") from None


async def poll_ticket(
    client: httpx.AsyncClient, ticket_id: str, until: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    response = await poll(
        client, f"/v1/tickets/{ticket_id}", lambda r: r.status_code == 200 and until(r.json())
    )
    return response.json()


@asynccontextmanager
async def own_broker(settings: Settings, **overrides: Any) -> AsyncIterator[tuple[Settings, EmbeddedKafka]]:
    """A broker of the test's own (Tansu starts in milliseconds), to freeze without touching the
    session's; and the settings pointing at it."""
    broker = EmbeddedKafka()
    await asyncio.to_thread(broker.start)
    try:
        yield settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers, **overrides}), broker
    finally:
        broker.stop()


@contextmanager
def frozen(broker: EmbeddedKafka) -> Iterator[None]:
    """Connections stay open and nothing answers: the worst case for a producer."""
    assert broker.pid is not None
    os.kill(broker.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(broker.pid, signal.SIGCONT)
