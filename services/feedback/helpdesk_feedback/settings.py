"""Settings of the feedback service, from the environment."""

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8004
    mongodb_database: str = "helpdesk_feedback"
