"""Settings of the feedback service, from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr, model_validator

from helpdesk_events.settings import ServiceSettings

# Only for environment=local and test: a production deployment must set its own secrets.
DEVELOPMENT_TOKEN_SECRET = "helpdesk-feedback-development-secret-not-for-production"


class Settings(ServiceSettings):
    http_port: int = 8004
    mongodb_database: str = "helpdesk_feedback"

    # How long after a ticket is solved its survey goes out (not if it reopened meanwhile).
    survey_delay_seconds: float = 86_400.0
    # Where survey links point (the customer's browser reaches this); default: this service's own address.
    feedback_public_url: str | None = None
    # HMAC secrets of the survey links, comma-separated, the current one first; older ones keep their links
    # working during a rotation. Required in production; 32 random bytes or more each.
    feedback_token_secrets: SecretStr | None = None
    # How long survey links work.
    survey_link_ttl_seconds: float = 30 * 86_400.0
    # No customer (requester email) gets a survey more often than this.
    survey_customer_interval_seconds: float = 7 * 86_400.0
    # After the first answer, the customer may change it for this long; the latest answer counts.
    survey_answer_change_window_seconds: float = 7 * 86_400.0
    # YAML: survey kind per channel and team, and whether a low score reopens the ticket.
    feedback_surveys_file: Path | None = None
    # How often the durable timer sends the surveys that have fallen due.
    feedback_timer_interval_seconds: float = 1.0

    @model_validator(mode="after")
    def _secrets_in_production(self) -> Settings:
        if self.environment == "production" and not self.token_secrets():
            raise ValueError("FEEDBACK_TOKEN_SECRETS must be set in production (survey links are signed with it)")
        return self

    def token_secrets(self) -> list[bytes]:
        raw = self.feedback_token_secrets.get_secret_value() if self.feedback_token_secrets else ""
        secrets = [part.strip().encode() for part in raw.split(",") if part.strip()]
        if not secrets and self.environment != "production":
            secrets = [DEVELOPMENT_TOKEN_SECRET.encode()]
        return secrets

    def public_url(self) -> str:
        return (self.feedback_public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")
