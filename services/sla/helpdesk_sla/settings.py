"""Settings of the sla service, from the environment."""

from pathlib import Path

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8003
    mongodb_database: str = "helpdesk_sla"

    # YAML SLA policies and calendars (a ConfigMap): the initial document when MongoDB holds none yet;
    # validated at start either way. Unset: the built-in 24/7 "standard" policy.
    sla_policies_file: Path | None = None
    # How often the durable timer looks for warnings and breaches that have come (they fire within this).
    sla_timer_interval_seconds: float = 0.5
    # A breach told more than this after its due time (the service was down) is marked late.
    sla_late_after_seconds: float = 5.0
