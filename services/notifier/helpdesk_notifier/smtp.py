"""The SMTP adapter: hands each mail to the configured server with aiosmtplib."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
from opentelemetry import trace

from helpdesk_notifier.ports import PermanentDeliveryError, Receipt, TransientDeliveryError
from helpdesk_notifier.retry import smtp_failure

tracer = trace.get_tracer("helpdesk_notifier")


class SmtpMailer:
    """One connection per mail: acknowledgements are few, and no idle connection can go stale."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        start_tls: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._username = username
        self._password = password
        self._start_tls = start_tls
        self._timeout = timeout_seconds

    async def send(self, message: EmailMessage) -> Receipt:
        # A client span under the handler's: the ticket's trace ends at the mail server, failures marked.
        with tracer.start_as_current_span(
            "smtp send",
            kind=trace.SpanKind.CLIENT,
            attributes={"server.address": self._host, "server.port": self._port},
        ):
            try:
                await aiosmtplib.send(
                    message,
                    hostname=self._host,
                    port=self._port,
                    username=self._username,
                    password=self._password,
                    start_tls=self._start_tls,
                    timeout=self._timeout,
                )
            except aiosmtplib.SMTPRecipientsRefused as error:
                # Every recipient refused: take the first reply as the verdict (we send to one address).
                refused = error.recipients[0] if error.recipients else None
                if refused is None:
                    raise PermanentDeliveryError(f"SMTP refused the recipient: {error}") from error
                raise smtp_failure(refused.code, refused.message) from error
            except aiosmtplib.SMTPNotSupported as error:  # e.g. STARTTLS asked of a server without it
                raise PermanentDeliveryError(f"SMTP server does not support what we asked: {error}") from error
            except aiosmtplib.SMTPResponseException as error:
                raise smtp_failure(error.code, error.message) from error
            except (aiosmtplib.SMTPException, OSError) as error:  # connect, timeout, disconnect
                raise TransientDeliveryError(f"SMTP server unreachable: {error!r}") from error
        return Receipt(external_id=message["Message-ID"])
