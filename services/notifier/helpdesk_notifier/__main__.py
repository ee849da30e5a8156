"""Run the notifier: `python -m helpdesk_notifier` (or `helpdesk-notifier`)."""

from helpdesk_events.service import run_service
from helpdesk_notifier.bootstrap import SERVICE, create_app
from helpdesk_notifier.settings import Settings


def main() -> None:
    run_service(SERVICE, Settings, create_app)


if __name__ == "__main__":
    main()
