"""Shared fixtures: real servers, started lazily once per session, each on a free port.

A server starts only when a test asks for its fixture, so unit tests need none. Point the suite at
servers of your own with TEST_KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL and TEST_REDIS_URL; the embedded ones
are used otherwise. `TEST_SERVERS=containers` starts Apache Kafka and MongoDB in Docker containers
instead (devtools/containers.py; the run stops at once, saying why, where no Docker engine answers). A
Kafka of your own must allow the tests' 3 s consumer sessions (`group.min.session.timeout.ms` of 3000
or less; Kafka's default is 6000).

Property tests (hypothesis) draw the same examples on every run, so a red build is about the code, not
the draw; `HYPOTHESIS_PROFILE=explore make test` draws new ones (how the calendar's holiday bug was found).
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from devtools.containers import ApacheKafka, MongoDB, docker_unavailable
from devtools.fake_slack import FakeSlack
from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, SmtpCapture
from tests.support.servers import SERVERS

SLACK_TEST_TOKEN = "xoxb-test-token"

# Loaded before any test module builds its own @settings, which inherit it.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("explore", print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI timeout, `timeout`) stops the run like Ctrl-C, so the server fixtures still stop their servers."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
    if SERVERS not in ("embedded", "containers"):
        raise pytest.UsageError(f"TEST_SERVERS={SERVERS!r}: use embedded (the default) or containers")
    if SERVERS == "containers" and (reason := docker_unavailable()) is not None:
        # Asked for by name: skipping every server test instead would pass without testing anything.
        raise pytest.UsageError(f"TEST_SERVERS=containers, but {reason}")


def _named_or_embedded(variable: str, embedded: Callable[[], Any], address: Callable[[Any], str]) -> Iterator[str]:
    """The server the environment names in `variable`, else an embedded one for the session."""
    named = os.environ.get(variable)
    if named:
        yield named
        return
    with embedded() as server:
        yield address(server)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    broker = ApacheKafka if SERVERS == "containers" else EmbeddedKafka
    yield from _named_or_embedded("TEST_KAFKA_BOOTSTRAP_SERVERS", broker, lambda s: s.bootstrap_servers)


@pytest.fixture(scope="session")
def kafka_is_embedded() -> bool:
    """True when `kafka_bootstrap` is the embedded Tansu, for the few tests that depend on how long a
    broker takes to do something (Tansu answers a JoinGroup after a delay that grows with the session)."""
    return SERVERS == "embedded" and not os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    yield from _named_or_embedded(
        "MONGODB_URL", MongoDB if SERVERS == "containers" else EmbeddedMongo, lambda s: s.url
    )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    # Our own server rather than the machine's shared one on 6379: tests may flush or fill it.
    yield from _named_or_embedded("TEST_REDIS_URL", EmbeddedRedis, lambda s: s.url)


@pytest.fixture(scope="session")
def smtp_capture() -> Iterator[SmtpCapture]:
    with SmtpCapture() as capture:
        yield capture


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=SLACK_TEST_TOKEN) as slack:
        yield slack


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix per test (`t1a2b3c4d.`): the session's broker is shared."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def mongo_db_prefix() -> str:
    """A unique database-name prefix per test (`t1a2b3c4d_`): the session's server is shared."""
    return f"t{uuid.uuid4().hex[:8]}_"


@pytest.fixture
async def db(mongodb_url: str, mongo_db_prefix: str) -> AsyncIterator[AsyncDatabase]:
    """A database of this test's own on the session's server, read as the services read it
    (timezone-aware), dropped after the test. A module adds its indexes by overriding `db`."""
    client: AsyncMongoClient = AsyncMongoClient(mongodb_url, tz_aware=True)
    database = client[f"{mongo_db_prefix}scratch"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()
