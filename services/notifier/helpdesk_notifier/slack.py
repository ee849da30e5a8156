"""The Slack adapter: `chat.postMessage` through slack-sdk's AsyncWebClient."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from helpdesk_notifier.ports import ChatMessage, PermanentDeliveryError, Receipt, TransientDeliveryError
from helpdesk_notifier.retry import http_failure


class SlackChatClient:
    """Posts messages as the bot. Retries are the notifier's own policy, so slack-sdk's are off."""

    def __init__(self, token: str, base_url: str, timeout_seconds: float = 10.0) -> None:
        self._token = token
        self._base_url = base_url
        self._timeout = timeout_seconds
        self._session: aiohttp.ClientSession | None = None
        self._client: AsyncWebClient | None = None

    def _web_client(self) -> AsyncWebClient:
        if self._client is None:
            # Built on first use, inside the running loop; one session reuses connections.
            self._session = aiohttp.ClientSession()
            self._client = AsyncWebClient(
                token=self._token,
                base_url=self._base_url,
                timeout=int(self._timeout),
                session=self._session,
                retry_handlers=[],
            )
        return self._client

    async def post_message(self, message: ChatMessage) -> Receipt:
        try:
            response = await self._web_client().chat_postMessage(
                channel=message.channel,
                text=message.text,
                blocks=list(message.blocks),
                metadata=message.metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            status = error.response.status_code
            detail = _slack_error(error)
            if status == 200:  # ok=false: Slack refused the call itself (bad channel, token, blocks)
                raise PermanentDeliveryError(f"Slack refused chat.postMessage: {detail}") from error
            retry_after = error.response.headers.get("Retry-After")
            raise http_failure(status, f"Slack: {detail}", retry_after) from error
        except (aiohttp.ClientError, OSError) as error:  # OSError covers timeouts and refused connections
            raise TransientDeliveryError(f"Slack unreachable: {error!r}") from error
        return Receipt(external_id=response.get("ts"))

    async def close(self) -> None:
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()


def _slack_error(error: SlackApiError) -> str:
    data = error.response.data
    return str(data.get("error", data)) if isinstance(data, dict) else str(error)
