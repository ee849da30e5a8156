"""Settings of the intake service, from the environment (MAX_BODY_BYTES, PUBLISH_TIMEOUT_SECONDS, ...)."""

from pydantic import Field

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8001
    mongodb_database: str = "helpdesk_intake"

    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body accepted (413 above)."
    )
    publish_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long POST /v1/tickets waits for Kafka's acknowledgement before a 503.",
    )
    read_model_group_id: str = Field(
        default="intake-read-model", description="Consumer group that keeps the ticket read model."
    )
    kafka_connect_retry_seconds: float = Field(
        default=2.0, gt=0, description="Pause between attempts to reach Kafka while it is down at startup."
    )
