"""Settings of the intake service, from the environment (MAX_BODY_BYTES, PUBLISH_TIMEOUT_SECONDS, ...)."""

from pydantic import Field, SecretStr, field_validator

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
    email_smtp_enabled: bool = Field(default=True, description="Run the SMTP listener of the email channel.")
    email_smtp_host: str | None = Field(default=None, description="SMTP listener address; unset: HTTP_HOST.")
    email_smtp_port: int = Field(default=2525, ge=0, le=65535, description="SMTP listener port (0: any free port).")
    email_max_message_bytes: int = Field(
        default=26_214_400, ge=1, description="Largest mail the SMTP listener accepts (552 above)."
    )
    email_max_attachment_bytes: int = Field(
        default=10_485_760, ge=0, description="Attachments above this size are recorded as too_large."
    )
    email_from: str = Field(
        default="Support <support@helpdesk.local>",
        description="The platform's own address (the notifier's EMAIL_FROM): mail from it is a loop.",
    )
    email_guard_ttl_seconds: int = Field(
        default=300, ge=1, description="Lifetime of the Redis guard of an inbound mail being processed."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Slack app's signing secret; unset, POST /v1/slack/interactions answers 503.",
    )

    @field_validator("slack_signing_secret")
    @classmethod
    def _no_blank_slack_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        # A blank secret would make every signature computable by anyone: unset it instead.
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("SLACK_SIGNING_SECRET is blank; unset it to turn Slack interactivity off")
        return secret
