"""Settings of the router service, from the environment."""

from pathlib import Path

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8002
    mongodb_database: str = "helpdesk_router"

    # The faust app id, which is also the Kafka consumer group of the tickets stream.
    router_consumer_group: str = "router"
    # How often every router re-offers queued tickets and re-sends unsent agent status changes:
    # a safety net for capacity freed on another router instance or an announcement that failed.
    # 0 turns it off.
    router_sweep_seconds: float = 30.0
    # Queued tickets looked at per pass when capacity frees (oldest first, by priority).
    router_queue_batch: int = 500
    # YAML triage rules (a ConfigMap): the initial rule set when MongoDB holds none yet; validated
    # at start either way. Unset: no rules (tickets keep their priority, need no skills).
    router_rules_file: Path | None = None
