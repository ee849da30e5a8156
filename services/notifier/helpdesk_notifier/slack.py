"""The Slack adapter over slack-sdk's AsyncWebClient: post, update, and find a post already made.

Every Slack failure is translated the same way for every call: `ok: false` on HTTP 200 is Slack
refusing the call itself (bad channel, token, blocks) and permanent; 429 (with its `Retry-After`)
and 5xx are transient, other 4xx permanent; network trouble and timeouts are transient.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import aiohttp
from opentelemetry import trace
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from helpdesk_notifier.ports import ChatMessage, PermanentDeliveryError, Receipt, TransientDeliveryError
from helpdesk_notifier.retry import http_failure

# How far back `find_posted` reads a conversation: an interrupted post is recent, so a few pages do.
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 5

tracer = trace.get_tracer("helpdesk_notifier")


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
        """`chat.postMessage`; to a user id Slack answers with the direct-message conversation's id."""
        response = await _call(
            "chat.postMessage",
            self._web_client().chat_postMessage(
                channel=message.channel,
                text=message.text,
                blocks=list(message.blocks),
                metadata=message.metadata,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return Receipt(
            external_id=response.get("ts"), conversation=response.get("channel") or message.channel
        )

    async def update_message(self, conversation: str, ts: str, message: ChatMessage) -> Receipt:
        """`chat.update` of text and blocks. The metadata is left as first posted: it names the
        delivery that posted the message, which `find_posted` looks for."""
        response = await _call(
            "chat.update",
            self._web_client().chat_update(
                channel=conversation, ts=ts, text=message.text, blocks=list(message.blocks)
            ),
        )
        return Receipt(
            external_id=response.get("ts") or ts, conversation=response.get("channel") or conversation
        )

    async def find_posted(self, message: ChatMessage) -> Receipt | None:
        """The bot's message in `message.channel`'s conversation whose metadata equals `message.metadata`,
        newest first among the last HISTORY_PAGE_SIZE * HISTORY_MAX_PAGES messages; None if there is none.

        A user id is first turned into the direct-message conversation (`conversations.open`), since
        `conversations.history` only reads conversations. Without metadata there is nothing to match.
        """
        if not message.metadata:
            return None
        client = self._web_client()
        conversation = message.channel
        if _is_user_id(conversation):
            opened = await _call("conversations.open", client.conversations_open(users=[conversation]))
            conversation = (opened.get("channel") or {}).get("id") or conversation
        cursor: str | None = None
        for _ in range(HISTORY_MAX_PAGES):
            page = await _call(
                "conversations.history",
                client.conversations_history(
                    channel=conversation, include_all_metadata=True, limit=HISTORY_PAGE_SIZE, cursor=cursor
                ),
            )
            for posted in page.get("messages") or []:
                if _same_metadata(posted.get("metadata"), message.metadata):
                    return Receipt(external_id=posted.get("ts"), conversation=conversation)
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or cursor is None:
                return None
        return None

    async def close(self) -> None:
        session, self._session, self._client = self._session, None, None
        if session is not None:
            await session.close()


async def _call(method: str, request: Awaitable[AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await one Web API call, translating its failures into the notifier's delivery errors.

    A post's errors keep the wording delivery records have always had ("HTTP 429: Slack: ratelimited");
    the other calls name themselves, so a failed update or history read says which it was.
    """
    where = "Slack" if method == "chat.postMessage" else f"Slack {method}"
    # A client span under the handler's: the ticket's trace ends at the Slack call, failures marked.
    with tracer.start_as_current_span(
        f"slack {method}", kind=trace.SpanKind.CLIENT, attributes={"rpc.system": "slack", "rpc.method": method}
    ) as span:
        try:
            return await request
        except SlackApiError as error:
            status = error.response.status_code
            span.set_attribute("http.response.status_code", status)
            detail = _slack_error(error)
            if status == 200:  # ok=false: Slack refused the call itself (bad channel, token, blocks)
                raise PermanentDeliveryError(f"Slack refused {method}: {detail}") from error
            retry_after = error.response.headers.get("Retry-After")
            raise http_failure(status, f"{where}: {detail}", retry_after) from error
        except (aiohttp.ClientError, OSError) as error:  # OSError covers timeouts and refused connections
            raise TransientDeliveryError(f"{where} unreachable: {error!r}") from error


def _is_user_id(channel: str) -> bool:
    # U... (and W... on Enterprise Grid) are users; C, G and D are conversations.
    return channel[:1] in ("U", "W")


def _same_metadata(posted: Any, wanted: dict[str, Any]) -> bool:
    """Slack gives metadata back with the event type and payload as posted (and may add fields)."""
    if not isinstance(posted, dict):
        return False
    return posted.get("event_type") == wanted.get("event_type") and posted.get("event_payload") == wanted.get(
        "event_payload"
    )


def _slack_error(error: SlackApiError) -> str:
    data = error.response.data
    return str(data.get("error", data)) if isinstance(data, dict) else str(error)
