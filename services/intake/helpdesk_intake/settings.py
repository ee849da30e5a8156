"""Settings of the intake service, from the environment (MAX_BODY_BYTES, PUBLISH_TIMEOUT_SECONDS, ...)."""

from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from helpdesk_events.settings import ServiceSettings
from helpdesk_intake.channels.selection import ALL_CHANNELS, ChannelName, parse_channels


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
        default=300, ge=1, description="Lifetime of the Redis guard of an inbound message (any channel) being processed."
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Slack app's signing secret; unset, POST /v1/slack/interactions answers 503.",
    )
    intake_channels: Annotated[tuple[ChannelName, ...], NoDecode] = Field(
        default=ALL_CHANNELS,
        description="Channels this process serves, a comma list of web, email, chat, social, voice "
        "(`--channels` overrides); the others' routes and listeners are not mounted.",
    )
    social_webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON object network -> webhook secret ({"facebook": "..."}); a network without '
        "one answers 404.",
    )
    voice_webhook_secret: SecretStr | None = Field(
        default=None, description="Secret of the voice webhook's signature; unset, the webhook answers 503."
    )
    voice_thread_window_seconds: int = Field(
        default=86_400, ge=0, description="A call joins the caller's ticket updated within this window."
    )

    @field_validator("slack_signing_secret")
    @classmethod
    def _no_blank_slack_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        # A blank secret would make every signature computable by anyone: unset it instead.
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("SLACK_SIGNING_SECRET is blank; unset it to turn Slack interactivity off")
        return secret

    @field_validator("intake_channels", mode="before")
    @classmethod
    def _known_channels(cls, value: Any) -> tuple[ChannelName, ...]:
        return parse_channels(value)

    @field_validator("social_webhook_secrets")
    @classmethod
    def _usable_social_secrets(cls, secrets: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if any(not secret.get_secret_value().strip() for secret in secrets.values()):
            raise ValueError("a SOCIAL_WEBHOOK_SECRETS secret is blank; leave the network out instead")
        return {network.strip().lower(): secret for network, secret in secrets.items()}

    @field_validator("voice_webhook_secret")
    @classmethod
    def _no_blank_voice_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("VOICE_WEBHOOK_SECRET is blank; unset it to turn the voice webhook off")
        return secret
