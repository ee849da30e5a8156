"""A raw RFC 822 message parsed into what intake needs to know about it.

Pure, standard library only (`email` with the modern `policy.default` API). Charsets and
transfer encodings are decoded by the library; a part in a charset Python does not know is read
as UTF-8 with replacement characters rather than refused, since a ticket with a few odd
characters is better than a lost customer mail. Attachments are recorded (name, type, size),
never kept.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage, Message

from helpdesk_events import Attachment
from helpdesk_intake.channels.html_text import html_to_text
from helpdesk_intake.channels.quoted_reply import trim_quoted_reply

DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
_BODY_TYPES = ("text/plain", "text/html")
_MSGID = re.compile(r"<([^<>\s]+)>")
_WHITESPACE = re.compile(r"\s+")


class EmailParseError(ValueError):
    """The bytes are no usable email: not a message, or no sender to answer."""


@dataclass(frozen=True)
class InboundEmail:
    message_id: str = field(
        metadata={
            "doc": "As in the header, with angle brackets; synthesised from a hash of the bytes when missing."
        }
    )
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str = field(metadata={"doc": "The new text: the body with the quoted earlier mail trimmed."})
    full_text: str
    attachments: tuple[Attachment, ...]
    content_type: str
    headers: tuple[tuple[str, str], ...] = field(
        metadata={"doc": "Every header, raw and unfolded, for the auto-reply detector."}
    )

    @property
    def quote_trimmed(self) -> bool:
        return self.text != self.full_text.strip()


def normalize_message_id(value: str) -> str:
    """The key a Message-ID is stored under: without angle brackets or surrounding space."""
    match = _MSGID.search(value)
    return match.group(1) if match else value.strip().strip("<>").strip()


def message_ids(value: str | None) -> tuple[str, ...]:
    """Every Message-ID in an In-Reply-To or References header, normalized, in order."""
    if not value:
        return ()
    found = _MSGID.findall(value)
    return tuple(found) if found else tuple(token.strip("<>") for token in value.split() if token.strip("<>"))


def parse_email(raw: bytes, *, max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES) -> InboundEmail:
    """Parse `raw`; EmailParseError when it is not a usable message, never anything else."""
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise EmailParseError("the message is empty")
    try:
        message = email.message_from_bytes(bytes(raw), policy=email.policy.default)
        return _read(message, bytes(raw), max_attachment_bytes)
    except EmailParseError:
        raise
    except Exception as error:  # the library's lazy header parsing has corner cases of its own
        raise EmailParseError(f"the message cannot be read: {error.__class__.__name__}: {error}") from error


def _read(message: EmailMessage, raw: bytes, max_attachment_bytes: int) -> InboundEmail:
    headers = tuple((name, _unfold(str(value))) for name, value in message.raw_items())
    if not headers:
        raise EmailParseError("not an email message: no headers")
    from_address, from_name = _sender(message)
    body = _body_part(message)
    full_text = _text_of(body) if body is not None else ""
    return InboundEmail(
        message_id=_message_id(message, raw),
        in_reply_to=next(iter(message_ids(_header(message, "In-Reply-To"))), None),
        references=message_ids(_header(message, "References")),
        from_address=from_address,
        from_name=from_name,
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        subject=_WHITESPACE.sub(" ", _header(message, "Subject") or "").strip(),
        date=_date(message),
        text=trim_quoted_reply(full_text),
        full_text=full_text,
        attachments=tuple(_attachments(message, body, max_attachment_bytes)),
        content_type=message.get_content_type(),
        headers=headers,
    )


def _header(message: Message, name: str) -> str | None:
    value = message.get(name)
    return None if value is None else _unfold(str(value))


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", value).strip()


def _sender(message: EmailMessage) -> tuple[str, str | None]:
    header = message.get("From")
    if header is None:
        raise EmailParseError("the message has no From header")
    addresses = getattr(header, "addresses", ())
    for address in addresses:
        if address.username and address.domain:
            return address.addr_spec, address.display_name or None
    raise EmailParseError(f"the From header names no usable address: {str(header)[:200]!r}")


def _addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    header = message.get(name)
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    return tuple(address.addr_spec for address in addresses if address.username)


def _message_id(message: EmailMessage, raw: bytes) -> str:
    found = message_ids(_header(message, "Message-ID"))
    if found:
        return f"<{found[0]}>"
    # No Message-ID: the same bytes delivered twice must still be recognised as one message.
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def _date(message: EmailMessage) -> datetime | None:
    header = message.get("Date")
    return getattr(header, "datetime", None) if header is not None else None


def _body_part(message: EmailMessage) -> EmailMessage | None:
    if message.get_content_type() in _BODY_TYPES and not message.is_multipart():
        return message
    if message.get_content_maintype() != "multipart" or not isinstance(message.get_payload(), list):
        return None
    return message.get_body(preferencelist=("plain", "html"))


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        # A charset Python does not know, or a broken transfer encoding: read what can be read.
        payload = part.get_payload(decode=True)
        content = (
            payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else str(payload or "")
        )
    if not isinstance(content, str):
        content = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else ""
    text = html_to_text(content) if part.get_content_type() == "text/html" else content
    return text.replace("\r\n", "\n").strip()


def _leaves(part: Message) -> Iterator[Message]:
    """Every non-multipart part; an attached message (message/rfc822) is one leaf, not opened."""
    payload = part.get_payload()
    if part.get_content_maintype() == "multipart":
        if isinstance(payload, list):
            for child in payload:
                yield from _leaves(child)
        return
    yield part


def _attachments(
    message: EmailMessage, body: EmailMessage | None, max_attachment_bytes: int
) -> Iterator[Attachment]:
    for part in _leaves(message):
        if part is body:
            continue
        filename = part.get_filename()
        content_type = part.get_content_type()
        is_alternative_body = (
            content_type in _BODY_TYPES and not filename and part.get_content_disposition() != "attachment"
        )
        if is_alternative_body:
            continue
        size = _size(part)
        yield Attachment(
            filename=filename,
            content_type=content_type,
            size=size,
            too_large=size > max_attachment_bytes,
        )


def _size(part: Message) -> int:
    if part.get_content_maintype() == "message":
        try:
            return len(part.as_bytes())
        except Exception:  # noqa: BLE001 - an attached message too broken to serialise still counts as one
            return 0
    payload = part.get_payload(decode=True)
    return len(payload) if isinstance(payload, bytes) else 0
