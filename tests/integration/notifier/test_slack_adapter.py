"""The Slack adapter against the fake Slack Web API, and the per-channel rate limit on the real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from devtools.fake_slack import FakeSlack
from devtools.servers import free_port
from helpdesk_notifier import slack as slack_module
from helpdesk_notifier.ports import ChatMessage, PermanentDeliveryError, TransientDeliveryError
from helpdesk_notifier.slack import SlackChatClient
from helpdesk_notifier.slack_messages import compose_assignment, with_delivery_key
from helpdesk_notifier.slack_rate import KEY_PREFIX, SlackRateLimiter
from helpdesk_notifier.ticket_view import TicketView
from tests.conftest import SLACK_TEST_TOKEN
from tests.integration.notifier.events import new_slack_user_id, new_ticket_id

pytestmark = pytest.mark.integration


@pytest.fixture
async def chat(fake_slack: FakeSlack) -> AsyncIterator[SlackChatClient]:
    client = SlackChatClient(token=SLACK_TEST_TOKEN, base_url=fake_slack.url, timeout_seconds=5)
    try:
        yield client
    finally:
        fake_slack.fail_next(0)  # the session's fake is shared
        await client.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def assignment_for(slack_user_id: str, delivery_key: str, **changes: object) -> ChatMessage:
    view = TicketView(
        **{  # type: ignore[arg-type]
            "ticket_id": new_ticket_id(),
            "subject": "Printer on fire",
            "agent_id": "a1",
            "agent_name": "Grace",
            "slack_user_id": slack_user_id,
            "status": "open",
            **changes,
        }
    )
    message = compose_assignment(view, for_agent="a1", slack_user_id=slack_user_id, link=None)
    return with_delivery_key(message, delivery_key)


async def read_history(fake_slack: FakeSlack, conversation: str) -> list[dict]:
    """The conversation newest first, as another client of the (fake) Web API reads it."""
    web = AsyncWebClient(token=SLACK_TEST_TOKEN, base_url=fake_slack.url)
    response = await web.conversations_history(channel=conversation, include_all_metadata=True)
    return response["messages"]


# ---- post, update, find ------------------------------------------------------------------------


async def test_a_direct_message_lands_in_the_users_dm_conversation(
    chat: SlackChatClient, fake_slack: FakeSlack
) -> None:
    user = new_slack_user_id()
    message = assignment_for(user, f"k-{uuid.uuid4().hex}")

    receipt = await chat.post_message(message)

    opened = await AsyncWebClient(token=SLACK_TEST_TOKEN, base_url=fake_slack.url).conversations_open(
        users=[user]
    )
    assert receipt.conversation == opened["channel"]["id"]
    assert receipt.conversation.startswith("D")
    assert receipt.external_id and not receipt.recorded_only
    (posted,) = await read_history(fake_slack, receipt.conversation)
    assert posted["ts"] == receipt.external_id
    assert posted["metadata"] == message.metadata
    call = fake_slack.wait_for_call(
        "chat.postMessage", lambda c: c["response"].get("ts") == receipt.external_id
    )
    assert call["body"]["channel"] == user
    assert call["body"]["unfurl_links"] is False


async def test_update_replaces_text_and_blocks_and_keeps_the_first_metadata(
    chat: SlackChatClient, fake_slack: FakeSlack
) -> None:
    user, key = new_slack_user_id(), f"k-{uuid.uuid4().hex}"
    first = assignment_for(user, key)
    receipt = await chat.post_message(first)
    solved = assignment_for(user, f"update-{key}", status="solved")

    updated = await chat.update_message(receipt.conversation, receipt.external_id, solved)

    assert (updated.conversation, updated.external_id) == (receipt.conversation, receipt.external_id)
    (posted,) = await read_history(fake_slack, receipt.conversation)
    assert posted["text"] == solved.text
    assert posted["blocks"] == list(solved.blocks)
    assert not any(block["type"] == "actions" for block in posted["blocks"])
    assert posted["metadata"] == first.metadata  # what find_posted matches stays the post's own
    assert await chat.find_posted(first) == receipt


async def test_find_posted_finds_the_post_of_the_same_delivery_only(
    chat: SlackChatClient, fake_slack: FakeSlack
) -> None:
    user = new_slack_user_id()
    mine, other = assignment_for(user, "k-mine"), assignment_for(user, "k-other")
    assert await chat.find_posted(mine) is None  # nothing posted yet (and the DM opened on the way)

    receipt = await chat.post_message(mine)
    await chat.post_message(other)

    assert await chat.find_posted(mine) == receipt
    assert await chat.find_posted(assignment_for(user, "k-never-posted")) is None
    assert await chat.find_posted(ChatMessage(channel=user, text="x", blocks=(), metadata=None)) is None


async def test_find_posted_reads_older_pages_of_a_channel(
    chat: SlackChatClient, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_module, "HISTORY_PAGE_SIZE", 2)
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    oldest = ChatMessage(channel, "first", (), {"event_type": "helpdesk_test", "event_payload": {"n": 0}})
    receipt = await chat.post_message(oldest)
    for n in range(1, 6):  # three pages of two, newest first: the oldest is on the third
        await chat.post_message(
            ChatMessage(channel, f"m{n}", (), {"event_type": "helpdesk_test", "event_payload": {"n": n}})
        )

    assert receipt.conversation == channel
    assert await chat.find_posted(oldest) == receipt
    reads = [c for c in fake_slack.calls("conversations.history") if c["body"].get("channel") == channel]
    assert len(reads) == 3

    monkeypatch.setattr(slack_module, "HISTORY_MAX_PAGES", 2)  # beyond what it reads: not found
    assert await chat.find_posted(oldest) is None


# ---- failures map like post_message's ----------------------------------------------------------


async def test_rate_limits_and_server_errors_are_transient_for_every_call(
    chat: SlackChatClient, fake_slack: FakeSlack
) -> None:
    user = new_slack_user_id()
    message = assignment_for(user, f"k-{uuid.uuid4().hex}")
    receipt = await chat.post_message(message)

    fake_slack.fail_next(1, status=429, retry_after=3, method="chat.postMessage")
    with pytest.raises(TransientDeliveryError) as limited:
        await chat.post_message(message)
    assert limited.value.retry_after == 3

    fake_slack.fail_next(1, status=429, retry_after=2, method="chat.update")
    with pytest.raises(TransientDeliveryError) as limited:
        await chat.update_message(receipt.conversation, receipt.external_id, message)
    assert limited.value.retry_after == 2

    fake_slack.fail_next(1, status=500, method="conversations.history")
    with pytest.raises(TransientDeliveryError, match="HTTP 500"):
        await chat.find_posted(message)

    fake_slack.fail_next(1, status=503, method="conversations.open")
    with pytest.raises(TransientDeliveryError, match="HTTP 503"):
        await chat.find_posted(message)

    assert await chat.find_posted(message) == receipt  # only those calls failed


async def test_slack_refusals_are_permanent(chat: SlackChatClient, fake_slack: FakeSlack) -> None:
    user = new_slack_user_id()
    message = assignment_for(user, f"k-{uuid.uuid4().hex}")
    receipt = await chat.post_message(message)

    with pytest.raises(PermanentDeliveryError, match="chat.update: message_not_found"):
        await chat.update_message(receipt.conversation, "1.000000", message)
    with pytest.raises(PermanentDeliveryError, match="channel_not_found"):
        await chat.update_message(user, receipt.external_id, message)  # a user id is not a conversation
    fake_slack.fail_next(1, status=403, method="conversations.history")
    with pytest.raises(PermanentDeliveryError, match="HTTP 403"):
        await chat.find_posted(message)

    wrong_token = SlackChatClient(token="xoxb-wrong", base_url=fake_slack.url)
    try:
        with pytest.raises(PermanentDeliveryError, match="invalid_auth"):
            await wrong_token.find_posted(message)
        with pytest.raises(PermanentDeliveryError, match="invalid_auth"):
            await wrong_token.update_message(receipt.conversation, receipt.external_id, message)
    finally:
        await wrong_token.close()


async def test_slack_unreachable_is_transient() -> None:
    nobody = SlackChatClient(token=SLACK_TEST_TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/")
    message = ChatMessage("C0NOBODY", "hi", (), {"event_type": "helpdesk_test", "event_payload": {}})
    try:
        for call in (
            nobody.post_message(message),
            nobody.update_message("C0NOBODY", "1.000001", message),
            nobody.find_posted(message),
        ):
            with pytest.raises(TransientDeliveryError, match="unreachable"):
                await call
    finally:
        await nobody.close()


# ---- the per-channel rate limit, shared through Redis ------------------------------------------


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds)


async def test_a_second_message_to_a_channel_waits_for_the_turn_of_the_first(redis: Redis) -> None:
    sleep = RecordingSleep()
    limiter = SlackRateLimiter(redis, interval_seconds=0.3, sleep=sleep)
    channel = f"C{uuid.uuid4().hex[:10].upper()}"

    await limiter.wait_turn(channel)
    assert sleep.waits == []
    assert 0 < await redis.pttl(KEY_PREFIX + channel) <= 300

    await limiter.wait_turn(channel)
    assert sleep.waits and all(0 < wait <= 0.3 for wait in sleep.waits)


async def test_channels_do_not_wait_for_each_other(redis: Redis) -> None:
    sleep = RecordingSleep()
    limiter = SlackRateLimiter(redis, interval_seconds=5, sleep=sleep)
    await limiter.wait_turn(f"C{uuid.uuid4().hex[:10].upper()}")
    await limiter.wait_turn(f"C{uuid.uuid4().hex[:10].upper()}")
    await limiter.wait_turn(new_slack_user_id())
    assert sleep.waits == []


async def test_instances_sharing_redis_take_turns_on_a_channel(
    redis_url: str, chat: SlackChatClient, fake_slack: FakeSlack
) -> None:
    """Two notifier instances (two Redis connections) posting to one channel at once: each post gets
    its own turn, one interval after the previous one, and every message arrives."""
    interval = 0.2
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    instances = [Redis.from_url(redis_url), Redis.from_url(redis_url)]
    sleeps = [RecordingSleep(), RecordingSleep()]
    limiters = [SlackRateLimiter(r, interval_seconds=interval, sleep=s) for r, s in zip(instances, sleeps)]
    granted: list[float] = []

    async def post(n: int) -> None:
        await limiters[n % 2].wait_turn(channel)
        granted.append(time.monotonic())
        await chat.post_message(ChatMessage(channel, f"burst {n}", (), None))

    try:
        await asyncio.gather(*(post(n) for n in range(6)))
    finally:
        for client in instances:
            await client.aclose()

    texts = sorted(
        c["body"]["text"] for c in fake_slack.calls("chat.postMessage") if c["body"]["channel"] == channel
    )
    assert texts == [f"burst {n}" for n in range(6)]
    assert sum(len(s.waits) for s in sleeps) >= 5  # all but the first had to wait
    gaps = [later - earlier for earlier, later in zip(granted, granted[1:])]
    # A lower bound, not a speed: turns never come closer than the interval (less Redis's clock tick).
    assert min(gaps) >= interval * 0.9, gaps
