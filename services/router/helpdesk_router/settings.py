"""Settings of the router service, from the environment."""

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
