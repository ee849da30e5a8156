"""The production servers in Docker containers, through testcontainers, where a Docker engine runs.

- ApacheKafka: Apache Kafka (Confluent's image, KRaft, one broker). Stopped and started again it is the
  same container, so it comes back with its topics, records, groups and committed offsets, as a Kafka
  broker does across a restart; leaving its `with` (close()) removes the container.
- MongoDB: a standalone mongod.

They stand in for EmbeddedKafka and EmbeddedMongo (devtools/servers.py): `TEST_SERVERS=containers make
test` runs the suite on them, `python -m chaos --apache-kafka` the fault suite. The embedded servers stay
the default: these machines have no Docker engine. `docker_unavailable()` says why a container cannot
start, so asking for one fails at once with that reason (../shared/servers.md, testcontainers).
"""

from __future__ import annotations

import time
from typing import Any, Self

from devtools.servers import (
    Lifetime,
    ServerStartError,
    _kafka_metadata_probe,
    _run_coroutine_in_thread,
    free_port,
)

KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
MONGODB_IMAGE = "mongo:8.0"
KAFKA_LISTENER_PORT = 9093  # the listener KafkaContainer advertises to the host


def docker_unavailable() -> str | None:
    """Why no container can start here (testcontainers missing, no Docker engine), or None if one can."""
    try:
        import docker
        import testcontainers  # noqa: F401
    except ImportError as error:
        return f"testcontainers is not installed ({error.name}): pip install -r requirements-dev.txt"
    try:
        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception as error:  # docker.errors.DockerException, or the socket refusing
        return f"no Docker engine answers: {error}"
    return None


def require_docker() -> None:
    reason = docker_unavailable()
    if reason is not None:
        raise ServerStartError(reason)


class ApacheKafka(Lifetime):
    """One Apache Kafka broker in a container, on a fixed host port so that it keeps its address across
    its own restart (Docker gives a container a new random port each time it starts otherwise).

    The broker takes the services' embedded settings as they are: consumer sessions down to 1 s (Kafka's
    own floor is 6 s; the embedded platform and the tests use 3 s) and 4 partitions for a topic made on
    first use, as Tansu does."""

    name = "apache-kafka"
    durable = True
    # Kafka holds an empty fetch for the whole wait and answers as soon as records come: the services'
    # default. (Tansu on memory storage needs a short one; see EmbeddedKafka.fetch_max_wait_ms.)
    fetch_max_wait_ms = 500
    startup_timeout = 120.0

    def __init__(self, port: int | None = None, image: str = KAFKA_IMAGE) -> None:
        self.port = port or free_port()
        self.image = image
        self._container: Any = None  # testcontainers' KafkaContainer, once created
        self._running = False

    @property
    def bootstrap_servers(self) -> str:
        # The address the broker advertises (the Docker host's, which is this machine for a local engine).
        if self._container is not None:
            return self._container.get_bootstrap_server()
        return f"127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Create and start the container the first time; start the same one again after stop()."""
        if self._running:
            return self
        if self._container is None:
            require_docker()
            from testcontainers.community.kafka import KafkaContainer

            container = (
                KafkaContainer(self.image)
                .with_kraft()
                .with_bind_ports(KAFKA_LISTENER_PORT, self.port)
                .with_env("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
                .with_env("KAFKA_NUM_PARTITIONS", "4")
            )
            self._container = container.start(timeout=int(self.startup_timeout))
        else:
            self._container.get_wrapped_container().start()
        self._running = True
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        """The broker down, its log kept: `docker stop` (SIGTERM, SIGKILL after 10 s). Idempotent."""
        if self._container is not None and self._running:
            self._container.get_wrapped_container().stop(timeout=10)
        self._running = False

    def close(self) -> None:
        """The container and its volumes gone (the end of its `with`)."""
        if self._container is not None:
            self._container.stop()  # testcontainers' stop removes the container with its volumes
            self._container = None
        self._running = False

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                _run_coroutine_in_thread(_kafka_metadata_probe(self.bootstrap_servers))
                return
            except Exception as error:
                if time.monotonic() > deadline:
                    raise ServerStartError(
                        f"Apache Kafka did not answer on {self.bootstrap_servers} within "
                        f"{self.startup_timeout:.0f} s: {error!r}"
                    ) from error
                time.sleep(0.5)



class MongoDB(Lifetime):
    """A standalone mongod in a container (root user test/test), removed when its `with` ends."""

    name = "mongodb"

    def __init__(self, image: str = MONGODB_IMAGE) -> None:
        self.image = image
        self._container: Any = None

    @property
    def url(self) -> str:
        if self._container is None:
            raise ServerStartError("MongoDB is not started")
        return self._container.get_connection_url()

    def start(self) -> Self:
        if self._container is None:
            require_docker()
            from testcontainers.community.mongodb import MongoDbContainer

            self._container = MongoDbContainer(self.image).start()
        return self

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
            self._container = None

