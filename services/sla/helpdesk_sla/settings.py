"""Settings of the sla service, from the environment."""

from helpdesk_events.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = 8003
    mongodb_database: str = "helpdesk_sla"
