"""Run SmtpCapture in the foreground: `python -m devtools.smtp_capture --port 1025 --maildir .run/mail`.

Logs one line per received mail and stops cleanly on SIGTERM or SIGINT (used by `make up`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from types import FrameType

from devtools.servers import HOST, SmtpCapture


def _log_line(message: EmailMessage) -> None:
    print(
        f"mail from={message['X-MailFrom']} to={message['X-RcptTo']} subject={message['Subject']!r}",
        flush=True,  # stdout is usually a pipe or a log file under `make up`
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.smtp_capture", description=__doc__)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--maildir", type=Path, default=None, help="also store every mail in this Maildir")
    args = parser.parse_args(argv)

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    with SmtpCapture(port=args.port, maildir=args.maildir, host=args.host, on_message=_log_line) as capture:
        where = f", maildir {args.maildir}" if args.maildir else ""
        print(f"smtp capture listening on {capture.host}:{capture.port}{where}", flush=True)
        while not stopping.wait(1):  # a timed wait keeps the main thread responsive to signals
            pass
    print("smtp capture stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
