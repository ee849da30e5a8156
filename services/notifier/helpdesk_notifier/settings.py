"""The notifier's settings: Slack, SMTP, and how hard to try before giving a delivery up."""

from __future__ import annotations

from pydantic import SecretStr, field_validator

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8005
    mongodb_database: str = "helpdesk_notifier"

    # Without a token the notifier posts nothing to Slack: it records what it would have sent.
    slack_bot_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout_seconds: float = 10.0

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    email_from: str = "Support <support@helpdesk.local>"
    email_domain: str = "helpdesk.local"  # right-hand side of the Message-IDs we generate

    # Bounded retries of one delivery; short values keep the tests fast.
    delivery_max_attempts: int = 5
    delivery_base_delay_seconds: float = 1.0
    delivery_max_delay_seconds: float = 30.0
    # Must outlast the slowest delivery (all attempts and their waits), or two workers could overlap.
    delivery_guard_ttl_seconds: int = 900

    @field_validator("slack_bot_token", "smtp_password", "smtp_username", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `SLACK_BOT_TOKEN=` in an env file means "not configured", not "an empty token".
        return None if value == "" else value
