"""The chat adapter used when Slack is not configured: it posts nothing and logs what it would send."""

from __future__ import annotations

import logging

from helpdesk_notifier.ports import ChatMessage, Receipt

log = logging.getLogger(__name__)


class RecordingChatClient:
    """Without SLACK_BOT_TOKEN: the delivery record keeps the whole message, and one log line says so."""

    async def post_message(self, message: ChatMessage) -> Receipt:
        log.info("Slack not configured (no SLACK_BOT_TOKEN): recorded, not posted, for %s: %s",
                 message.channel, message.text)  # fmt: skip
        return Receipt(external_id=None, recorded_only=True)

    async def update_message(self, conversation: str, ts: str, message: ChatMessage) -> Receipt:
        log.info("Slack not configured (no SLACK_BOT_TOKEN): update recorded, not made, for %s %s: %s",
                 conversation, ts, message.text)  # fmt: skip
        return Receipt(external_id=None, recorded_only=True, conversation=conversation)

    async def find_posted(self, message: ChatMessage) -> Receipt | None:
        """Nothing was ever posted, so there is nothing to find: recording again is harmless."""
        return None

    async def close(self) -> None:
        return None
