"""Settings every service reads from the environment, under the same names everywhere."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from helpdesk_events.kafka import KafkaSettings
from helpdesk_events.topics import TopicNames


class ServiceSettings(BaseSettings):
    """Base of each service's `Settings`; build it in the composition root, never at import."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: Literal["local", "test", "production"] = "local"
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = 8000

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = "helpdesk."
    kafka_topic_partitions: int = 6
    kafka_replication_factor: int = 1
    kafka_create_topics: bool = True
    kafka_session_timeout_ms: int = 10_000
    kafka_heartbeat_interval_ms: int = 3_000
    kafka_request_timeout_ms: int = 10_000
    kafka_fetch_max_wait_ms: int = 500
    kafka_producer_max_batch_bytes: int = 16_384
    # retention.ms of the topics a service creates: how long events (and the personal data in
    # them) stay on Kafka. 0 or less: the broker's default.
    kafka_topic_retention_ms: int = 7 * 24 * 3600 * 1000
    consumer_max_attempts: int = 5
    # Events a service's consumer handles at once: of different tickets (one ticket's stay in order).
    consumer_concurrency: int = Field(default=16, ge=1)
    # Records a consumer holds taken and not done before it stops fetching: the ones waiting out an
    # outage (a Slack post through Slack's) while the others go on.
    consumer_max_in_hand: int = Field(default=5_000, ge=1)

    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_database: str = "helpdesk"
    redis_url: str = "redis://127.0.0.1:6379/0"

    def kafka(self, client_id: str) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.kafka_bootstrap_servers,
            client_id=client_id,
            topics=TopicNames(self.kafka_topic_prefix),
            partitions=self.kafka_topic_partitions,
            replication_factor=self.kafka_replication_factor,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            request_timeout_ms=self.kafka_request_timeout_ms,
            fetch_max_wait_ms=self.kafka_fetch_max_wait_ms,
            max_batch_size=self.kafka_producer_max_batch_bytes,
            retention_ms=self.kafka_topic_retention_ms if self.kafka_topic_retention_ms > 0 else None,
        )
