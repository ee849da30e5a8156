"""Run the feedback service: `python -m helpdesk_feedback`."""

from helpdesk_events.service import run_service
from helpdesk_feedback.bootstrap import create_app
from helpdesk_feedback.settings import Settings


def main() -> None:
    run_service("feedback", Settings, create_app)


if __name__ == "__main__":
    main()
