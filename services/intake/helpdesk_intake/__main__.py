"""Run the intake service: `python -m helpdesk_intake [--channels email|chat,social|...]` (or the
`helpdesk-intake` script). `--channels` overrides INTAKE_CHANNELS; the default is every channel."""

import argparse
import functools
import sys
from collections.abc import Sequence

from helpdesk_events.service import run_service
from helpdesk_intake.bootstrap import SERVICE, create_app
from helpdesk_intake.channels.selection import ALL_CHANNELS, UnknownChannel, parse_channels
from helpdesk_intake.settings import Settings


def channels_argument(argv: Sequence[str] | None = None) -> tuple[str, ...] | None:
    """The channels named by `--channels`, None without it; exits with a clear error on unknown ones."""
    parser = argparse.ArgumentParser(prog="helpdesk_intake", description="Help desk intake service.")
    parser.add_argument(
        "--channels",
        help=f"comma list of the channels this process serves ({', '.join(ALL_CHANNELS)}); default: INTAKE_CHANNELS, else all",
    )
    arguments = parser.parse_args(argv)
    if arguments.channels is None:
        return None
    try:
        return parse_channels(arguments.channels)
    except UnknownChannel as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> None:
    channels = channels_argument(sys.argv[1:] if argv is None else argv)
    settings_class = Settings if channels is None else functools.partial(Settings, intake_channels=channels)
    run_service(SERVICE, settings_class, create_app)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
