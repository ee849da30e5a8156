"""Run the router service: `python -m helpdesk_router`."""

import sys

from helpdesk_events.service import run_service
from helpdesk_router.assignment import SERVICE
from helpdesk_router.bootstrap import create_app
from helpdesk_router.rule_file import RuleFileError
from helpdesk_router.settings import Settings


def main() -> None:
    try:
        run_service(SERVICE, Settings, create_app)
    except RuleFileError as error:
        sys.exit(f"router: {error}")  # a clear line, not a traceback: the file needs fixing


if __name__ == "__main__":
    main()
