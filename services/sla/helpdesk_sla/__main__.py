"""Run the sla service: `python -m helpdesk_sla`."""

from helpdesk_events.service import run_service
from helpdesk_sla.bootstrap import create_app
from helpdesk_sla.settings import Settings


def main() -> None:
    run_service("sla", Settings, create_app)


if __name__ == "__main__":
    main()
