"""Random JSON to the chat and social endpoints never makes intake answer 5xx, and never half-writes:
a refused request leaves intake's stores as they were, an accepted one is whole (the ticket in the
read model, its decision marked published). The app runs in-process on the real servers, since a
valid body goes all the way to Kafka."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from pymongo import MongoClient
from pymongo.database import Database

from helpdesk_intake.bootstrap import create_app
from helpdesk_intake.settings import Settings
from tests.support.apps import running_app

pytestmark = [
    pytest.mark.integration,
    # Hypothesis compares the global random state before and after drawing an example. The app's own
    # loop serves requests on another thread meanwhile, and its libraries (aiokafka, pymongo) draw from
    # `random` there, so hypothesis sometimes blames our strategies, which use no `random` themselves.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

SECRET = b"property-s3cret"
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Near-valid bodies too, so some get past validation and reach Kafka.
chat_like = st.fixed_dictionaries(
    {"conversation_id": st.text(max_size=8), "message_id": st.text(max_size=8), "text": st.text(max_size=20)},
    optional={
        "visitor": json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "email": st.sampled_from(["ada@example.com", "not-an-email"]) | st.text(max_size=8),
                "name": scalars,
                "id": scalars,
            },
        ),
        "sent_at": scalars,
    },
)
social_like = st.fixed_dictionaries(
    {
        "delivery_id": st.text(max_size=8),
        "kind": st.sampled_from(["direct_message", "mention", "like"]),
        "text": st.text(max_size=20),
    },
    optional={
        "sender": json_values | st.fixed_dictionaries({"handle": st.text(max_size=8)}),
        "thread_id": scalars,
    },
)
bodies_for_chat = json_values | chat_like
bodies_for_social = json_values | social_like


STORES = ("tickets", "inbound_messages", "channel_threads", "customers", "customer_identities")


def check_bodies(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, database: Database) -> None:
    """Runs in a worker thread: hypothesis drives, the app's own loop serves each request."""

    def counts() -> dict[str, int]:
        return {name: database[name].count_documents({}) for name in STORES}

    def send(path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        before = counts()
        answer = asyncio.run_coroutine_threadsafe(
            client.post(path, content=body, headers=headers), loop
        ).result(30)
        if 400 <= answer.status_code < 500:
            assert counts() == before, f"a refused request ({answer.status_code}) wrote: {answer.text}"
        elif answer.status_code < 300:
            ticket_id = answer.json()["ticket_id"]
            assert database["tickets"].find_one({"_id": ticket_id}) is not None
            decisions = list(database["inbound_messages"].find({"ticket_id": ticket_id}))
            assert decisions and all(decision["published"] for decision in decisions)
        return answer

    @PROPERTY
    @given(chat=bodies_for_chat, social=bodies_for_social, truncate=st.integers(min_value=0, max_value=200))
    def never_5xx(chat: Any, social: Any, truncate: int) -> None:
        chat_body = json.dumps(chat).encode()
        answer = send("/v1/channels/chat/messages", chat_body, {"Content-Type": "application/json"})
        assert answer.status_code < 500, answer.text
        truncated = chat_body[:truncate]
        answer = send("/v1/channels/chat/messages", truncated, {"Content-Type": "application/json"})
        assert answer.status_code < 500, answer.text
        for body in (json.dumps(social).encode(), json.dumps(social).encode()[:truncate]):
            signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
            answer = send("/v1/channels/social/facebook/webhook", body, headers)
            assert answer.status_code < 500, answer.text

    never_5xx()


async def test_random_json_never_gets_a_5xx_nor_half_writes(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"social_webhook_secrets": {"facebook": SecretStr(SECRET.decode())}}
    )
    stores = MongoClient(settings.mongodb_url)
    try:
        async with running_app(create_app(configured), base_url="http://intake", startup_timeout=15) as client:
            await asyncio.to_thread(
                check_bodies, client, asyncio.get_running_loop(), stores[settings.mongodb_database]
            )
    finally:
        stores.close()
