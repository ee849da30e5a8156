"""Run the intake service: `python -m helpdesk_intake` (or the `helpdesk-intake` script)."""

from helpdesk_events.service import run_service
from helpdesk_intake.bootstrap import SERVICE, create_app
from helpdesk_intake.settings import Settings


def main() -> None:
    run_service(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
