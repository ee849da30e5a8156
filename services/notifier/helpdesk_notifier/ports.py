"""The notifier's ports: what it needs from a chat service and a mail server, and how they fail.

Adapters translate their library's errors into `TransientDeliveryError` (worth another attempt)
or `PermanentDeliveryError` (another attempt would fail the same way); the retry policy decides
from that alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol


@dataclass(frozen=True)
class ChatMessage:
    """One Slack message: the channel (a user id opens a direct message), a text fallback and blocks."""

    channel: str
    text: str
    blocks: tuple[dict[str, Any], ...]
    metadata: dict[str, Any] | None = None

    def as_content(self) -> dict[str, Any]:
        """As kept in the delivery record."""
        return {
            "channel": self.channel,
            "text": self.text,
            "blocks": list(self.blocks),
            "metadata": self.metadata,
        }

    @property
    def digest(self) -> str:
        """What the message shows (its text and blocks, not where it goes or its metadata), as a short
        hash: two renderings with the same digest look the same, so updating one to the other is a no-op."""
        shown = json.dumps({"text": self.text, "blocks": list(self.blocks)}, sort_keys=True, default=str)
        return hashlib.sha256(shown.encode()).hexdigest()[:32]

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> ChatMessage:
        return cls(
            channel=content["channel"],
            text=content["text"],
            blocks=tuple(content.get("blocks") or ()),
            metadata=content.get("metadata"),
        )


@dataclass(frozen=True)
class Receipt:
    """What came back from a send: the provider's id for it (Slack `ts`, email Message-ID), whether it
    only was recorded, and for Slack the conversation id it landed in (a `D...` id for a direct message
    sent to a user id), which `chat.update` needs."""

    external_id: str | None
    recorded_only: bool = False
    conversation: str | None = None


class NothingToSend(Exception):
    """Raised by a send that found, when its turn came, that the recipient already has what it would
    send (an update of a message to what the message shows): the delivery is settled as skipped."""


class DeliveryError(Exception):
    retryable: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientDeliveryError(DeliveryError):
    """Network trouble, a 5xx, a rate limit (with the wait it asked for in `retry_after`)."""

    retryable = True


class PermanentDeliveryError(DeliveryError):
    """Refused for a reason a retry does not change: bad token, unknown channel, rejected address."""


class ChatClient(Protocol):
    async def post_message(self, message: ChatMessage) -> Receipt:
        """Post the message; the receipt's external id is Slack's `ts`, its conversation the channel id."""
        ...

    async def update_message(self, conversation: str, ts: str, message: ChatMessage) -> Receipt:
        """Replace the text and blocks of a message posted earlier (`chat.update`)."""
        ...

    async def find_posted(self, message: ChatMessage) -> Receipt | None:
        """The message already posted with the same `metadata` in `message.channel`'s conversation, if any
        (read back from the conversation's recent history): how an interrupted post is settled
        without posting twice."""
        ...

    async def close(self) -> None: ...


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> Receipt:
        """Hand the mail to the SMTP server; the receipt's external id is its Message-ID."""
        ...
