"""Run the router service: `python -m helpdesk_router`."""

from helpdesk_events.service import run_service
from helpdesk_router.assignment import SERVICE
from helpdesk_router.bootstrap import create_app
from helpdesk_router.settings import Settings


def main() -> None:
    run_service(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
