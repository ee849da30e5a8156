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

    async def close(self) -> None:
        return None
