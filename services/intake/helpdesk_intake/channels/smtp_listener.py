"""The SMTP way in: an aiosmtpd server on intake's own event loop, sharing the HTTP path's handler.

The sending server hears `250` only once Kafka holds the mail's events; `451` (a temporary
failure) makes it queue the mail and retry, which the duplicate guard makes safe; `550` refuses a
message that can never be read. Mail is accepted for any recipient: intake never relays, it only
turns mail into tickets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from helpdesk_intake.channels.email_intake import EmailOutcome
from helpdesk_intake.channels.email_message import EmailParseError
from helpdesk_intake.intake import TicketNotRecorded

log = logging.getLogger(__name__)

Receive = Callable[[bytes], Awaitable[EmailOutcome]]


class _DataHandler:
    """aiosmtpd calls `handle_DATA` by name once the whole message has arrived."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        raw = raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="replace")
        try:
            outcome = await self._receive(raw)
        except EmailParseError as error:
            return f"550 5.6.0 Message refused: {_one_line(str(error))}"
        except TicketNotRecorded as error:
            return f"451 4.3.0 Not recorded, try again later: {_one_line(str(error))}"
        except Exception:
            log.exception("SMTP delivery from %s failed", envelope.mail_from)
            return "451 4.3.0 Temporary failure, try again later"
        if outcome.ticket_id:
            return f"250 2.0.0 OK {outcome.outcome} ticket {outcome.ticket_id}"
        return f"250 2.0.0 OK {outcome.outcome}"


class SmtpListener:
    def __init__(self, receive: Receive, *, host: str, port: int, max_message_bytes: int) -> None:
        self._handler = _DataHandler(receive)
        self._host = host
        self._port = port
        self._max_message_bytes = max_message_bytes
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when configured as 0)."""
        if self._server is None or not self._server.sockets:
            raise RuntimeError("the SMTP listener is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self._host, self._port)
        log.info("SMTP listener on %s:%s", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()

    def _protocol(self) -> Any:
        return SMTP(
            self._handler,
            data_size_limit=self._max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            ident="helpdesk intake",
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
