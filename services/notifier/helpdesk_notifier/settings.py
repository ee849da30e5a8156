"""The notifier's settings: Slack, SMTP, and how hard to try before giving a delivery up."""

from __future__ import annotations

from pathlib import Path

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

    # YAML routes (a ConfigMap): which events go to which Slack channel or person, and the From and
    # Reply-To of each team's emails. Unset: assignments to the assignee, SLA alerts and shout-outs to
    # no channel (none configured), every email from EMAIL_FROM.
    notifier_routes_file: Path | None = None
    # The ticket link in Slack messages; {ticket_id} is replaced. Empty: no link.
    notifier_ticket_url: str | None = "http://localhost:8001/v1/tickets/{ticket_id}"
    # At most one Slack message per channel per this many seconds, across notifier instances (Redis).
    slack_channel_interval_seconds: float = 1.0

    # Bounded retries of one delivery. The defaults ride out a mail server or Slack down for a minute
    # (a restart, a failover): the waits after failed attempts 1..9 are 1, 2, 4, 8, 16, 30, 30, 30, 30 s
    # steps, of which jitter keeps at least half, so the 10th attempt comes 75.5 s (at least) to 151 s
    # (at most) after the first. Past that the delivery fails and its trigger is dead-lettered.
    # Short values keep the tests fast.
    delivery_max_attempts: int = 10
    delivery_base_delay_seconds: float = 1.0
    delivery_max_delay_seconds: float = 30.0
    # An outage (Slack 5xx, Slack or SMTP unreachable) is waited out this long as well: a delivery fails
    # only once it has used its attempts *and* waited this long, so a Slack outage loses no message.
    delivery_outage_seconds: float = 3600.0
    # The Redis guard of a delivery in progress is a lease renewed every third of this while held: a dead
    # holder's deliveries are free again this long after it died (a restarted notifier waits for that).
    delivery_guard_ttl_seconds: int = 30

    @field_validator(
        "slack_bot_token", "smtp_password", "smtp_username", "notifier_ticket_url", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `SLACK_BOT_TOKEN=` in an env file means "not configured", not "an empty token".
        return None if value == "" else value
