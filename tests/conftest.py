"""Shared fixtures: real servers, started lazily once per session, each on a free port.

A server starts only when a test asks for its fixture, so unit tests need none. Point the suite at
servers of your own with TEST_KAFKA_BOOTSTRAP_SERVERS, MONGODB_URL and TEST_REDIS_URL (for example a
real Apache Kafka and MongoDB); the embedded ones are used otherwise.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid
from collections.abc import Iterator

import pytest

from devtools.fake_slack import FakeSlack
from devtools.servers import EmbeddedKafka, EmbeddedMongo, EmbeddedRedis, SmtpCapture

SLACK_TEST_TOKEN = "xoxb-test-token"


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI timeout, `timeout`) stops the run like Ctrl-C, so the server fixtures still stop their servers."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    broker = EmbeddedKafka()
    try:
        broker.start()
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mongodb_url() -> Iterator[str]:
    external = os.environ.get("MONGODB_URL")
    if external:
        yield external
        return
    server = EmbeddedMongo()
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    # Our own server rather than the machine's shared one on 6379: tests may flush or fill it.
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    server = EmbeddedRedis()
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_capture() -> Iterator[SmtpCapture]:
    capture = SmtpCapture()
    try:
        capture.start()
        yield capture
    finally:
        capture.stop()


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack(token=SLACK_TEST_TOKEN)
    try:
        slack.start()
        yield slack
    finally:
        slack.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A unique topic prefix per test (`t1a2b3c4d.`): the session's broker is shared."""
    return f"t{uuid.uuid4().hex[:8]}."


@pytest.fixture
def mongo_db_prefix() -> str:
    """A unique database-name prefix per test (`t1a2b3c4d_`): the session's server is shared."""
    return f"t{uuid.uuid4().hex[:8]}_"
