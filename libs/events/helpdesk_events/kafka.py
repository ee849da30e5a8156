"""Kafka connection settings and topic administration."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from helpdesk_events.topics import Topic, TopicNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaSettings:
    """What the producer, the consumers and the admin client need; built from each service's Settings."""

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "helpdesk"
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 6
    replication_factor: int = 1
    # On the embedded broker a short session makes a consumer group join in about half of it.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 10_000
    # Longest a fetch waits for data. Apache Kafka answers as soon as data arrives; the embedded
    # broker holds the fetch for part of the wait, so `make up` and the tests use 50 ms.
    fetch_max_wait_ms: int = 500
    max_batch_size: int = 16_384
    linger_ms: int = 0
    # Events carry requesters' emails, names and messages: retention bounds how long erased
    # customers' data stays on Kafka. None leaves the broker's default.
    retention_ms: int | None = 7 * 24 * 3600 * 1000


async def ensure_topics(settings: KafkaSettings, topics: list[Topic] | None = None) -> list[str]:
    """Create the topics with their partition counts before any consumer subscribes.

    A broker auto-creates a missing topic on first metadata request with its own
    default partition count, so explicit creation comes first. Returns the names created.
    """
    wanted = [settings.topics.name(topic) for topic in (topics or list(Topic))]
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=f"{settings.client_id}-admin",
        request_timeout_ms=settings.request_timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            try:
                await admin.create_topics([_new_topic(settings, name) for name in missing])
            except TopicAlreadyExistsError:
                pass  # another service created it between our list and create
            log.info("created topics %s", missing)
        return missing
    finally:
        await admin.close()


def _new_topic(settings: KafkaSettings, name: str) -> NewTopic:
    configs = {"retention.ms": str(settings.retention_ms)} if settings.retention_ms is not None else {}
    return NewTopic(name, settings.partitions, settings.replication_factor, topic_configs=configs)
