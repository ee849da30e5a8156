"""The embedded servers speak their real protocols to the real client libraries the services use."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devtools.containers import ApacheKafka
from devtools.fake_slack import FakeSlack
from devtools.servers import EmbeddedKafka, EmbeddedRedis, EmbeddedS3, SmtpCapture, free_port
from tests.support.servers import SERVERS

pytestmark = pytest.mark.integration

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_kafka_round_trips_a_record_with_its_traceparent_header(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}tickets"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"id": 1}', key=b"T-1", headers=[("traceparent", TRACEPARENT)])
    finally:
        await producer.stop()

    # No consumer group: assigning the partition avoids the group join delay on this broker.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        records = await consumer.getmany(timeout_ms=5000)
    finally:
        await consumer.stop()
    [batch] = records.values()
    assert [(r.key, r.value, list(r.headers)) for r in batch] == [
        (b"T-1", b'{"id": 1}', [("traceparent", TRACEPARENT)])
    ]


@pytest.fixture(params=["tansu-on-s3", *(["apache-kafka"] if SERVERS == "containers" else [])])
def durable_broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EmbeddedKafka | ApacheKafka]:
    """A broker that keeps its log across its own restart, started: Tansu on S3 storage, always; Apache
    Kafka in a container too under `make test-containers` (the production broker; it needs a Docker engine,
    which the run checks before any test)."""
    if request.param == "apache-kafka":
        with ApacheKafka() as kafka:
            yield kafka
        return
    with EmbeddedS3(log_dir=tmp_path / "s3") as storage:
        with EmbeddedKafka(port=free_port(), log_dir=tmp_path / "kafka", storage=storage) as tansu:
            yield tansu


async def test_a_durable_broker_keeps_topics_records_and_committed_offsets_across_its_restart(
    durable_broker: EmbeddedKafka | ApacheKafka,
) -> None:
    topic, group, broker = "tickets", "notifier", durable_broker
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for n in range(6):
            await producer.send_and_wait(topic, f"ticket {n}".encode(), key=b"T-1", partition=0)
    finally:
        await producer.stop()
    read_before = await _read_and_commit(broker.bootstrap_servers, TopicPartition(topic, 0), group, 4)

    await asyncio.to_thread(broker.stop)
    await asyncio.to_thread(broker.start)  # same port, same storage, a new broker process

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        assert len(await producer.partitions_for(topic)) == 3
        await producer.send_and_wait(topic, b"ticket 6", key=b"T-1", partition=0)
    finally:
        await producer.stop()
    # The group goes on from its commit: the rest, and the record written after the restart.
    read_after = await _read_and_commit(broker.bootstrap_servers, TopicPartition(topic, 0), group, 3)
    assert read_before == [f"ticket {n}" for n in range(4)]
    assert read_after == [f"ticket {n}" for n in range(4, 7)]


async def _read_and_commit(
    bootstrap_servers: str, partition: TopicPartition, group: str, count: int
) -> list[str]:
    """The next `count` records of `partition` for `group`, which then commits past them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, group_id=group, auto_offset_reset="earliest",
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    read: list = []
    try:
        consumer.assign([partition])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(read) < count and loop.time() < deadline:
            read += (await consumer.getmany(partition, timeout_ms=500)).get(partition, [])
        read = read[:count]
        if read:
            await consumer.commit({partition: read[-1].offset + 1})
    finally:
        await consumer.stop()
    return [record.value.decode() for record in read]


async def test_mongo_unique_index_rejects_a_duplicate(mongodb_url: str, mongo_db_prefix: str) -> None:
    client: AsyncMongoClient[dict] = AsyncMongoClient(mongodb_url)
    db = client[f"{mongo_db_prefix}store"]
    try:
        await db.tickets.create_index("external_id", unique=True)
        await db.tickets.insert_one({"external_id": "E-1", "subject": "printer"})
        with pytest.raises(DuplicateKeyError):
            await db.tickets.insert_one({"external_id": "E-1", "subject": "again"})
        assert await db.tickets.count_documents({}) == 1
    finally:
        await client.drop_database(db.name)
        await client.close()


async def test_redis_set_nx_sets_only_once(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    key = f"test:dedupe:{uuid.uuid4().hex}"
    try:
        assert await client.set(key, "first", nx=True, ex=60) is True
        assert await client.set(key, "second", nx=True, ex=60) is None
        assert await client.get(key) == b"first"
        assert 0 < await client.ttl(key) <= 60
    finally:
        await client.delete(key)
        await client.aclose()


def test_embedded_redis_stop_is_idempotent_and_leaves_no_process() -> None:
    server = EmbeddedRedis().start()
    pid = server.pid
    assert pid is not None
    server.stop()
    server.stop()
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_smtp_capture_receives_a_mail_with_its_subject(smtp_capture: SmtpCapture) -> None:
    subject = f"Ticket T-{uuid.uuid4().hex[:6]} updated"
    message = EmailMessage()
    message["From"] = "helpdesk@example.com"
    message["To"] = "alice@example.com"
    message["Subject"] = subject
    message.set_content("Your ticket was updated. – ünïcode survives")

    await aiosmtplib.send(message, hostname=smtp_capture.host, port=smtp_capture.port)

    received = await smtp_capture.wait_for_async(lambda m: m["Subject"] == subject, timeout=5)
    assert received["X-MailFrom"] == "helpdesk@example.com"
    assert received["X-RcptTo"] == "alice@example.com"
    assert "ünïcode survives" in received.get_content()


async def test_slack_post_message_is_recorded(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url)
    text = f"hi {uuid.uuid4().hex[:6]}"

    response = await client.chat_postMessage(channel="U1", text=text)

    # Like Slack: a message to a user lands in the direct-message conversation with them (a D... id).
    assert response["ok"] is True and response["channel"].startswith("D")
    call = fake_slack.wait_for_call("chat.postMessage", lambda c: c["body"].get("text") == text, timeout=2)
    assert call["body"]["channel"] == "U1"
    assert call["headers"]["Authorization"] == "Bearer xoxb-test-token"
    assert call["response"]["ts"] == response["ts"]

    updated = await client.chat_update(channel=response["channel"], ts=response["ts"], text="edited")
    assert updated["message"]["text"] == "edited"


async def test_slack_wrong_token_is_invalid_auth(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-wrong", base_url=fake_slack.url)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="U1", text="hi")
    assert caught.value.response["error"] == "invalid_auth"


async def test_slack_injected_429_reaches_the_client(fake_slack: FakeSlack) -> None:
    # No retry handlers: the client must see the rate limit itself.
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url, retry_handlers=[])
    fake_slack.fail_next(1, status=429, retry_after=7, method="chat.postMessage")

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="U1", text="rate limited")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"
    assert caught.value.response["error"] == "ratelimited"

    # Only one call fails.
    assert (await client.chat_postMessage(channel="U1", text="after the limit"))["ok"] is True


async def test_slack_down_for_a_while_answers_500_to_every_call_then_answers_again(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.url, retry_handlers=[])
    fake_slack.fail_for(1.0, status=500)

    for text in ("one", "two", "three"):  # not a number of calls: every call while it is down
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postMessage(channel="U1", text=text)
        assert caught.value.response.status_code == 500
        assert caught.value.response["error"] == "internal_error"
    await asyncio.sleep(1.1)
    assert (await client.chat_postMessage(channel="U1", text="back"))["ok"] is True


async def test_slack_control_endpoints_serve_other_processes(fake_slack: FakeSlack) -> None:
    base = fake_slack.url.removesuffix("api/")
    auth = {"Authorization": "Bearer xoxb-test-token"}
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}_fail", json={"count": 1, "status": 500, "method": "users.info"}) as r:
            assert r.status == 200
        async with http.post(
            f"{fake_slack.url}users.info", data={"user": "U9"}, headers=auth
        ) as r:  # form-encoded, as older clients send
            assert r.status == 500
        async with http.get(f"{fake_slack.url}users.info?user=U9", headers=auth) as r:
            assert (await r.json())["user"]["id"] == "U9"
        async with http.post(f"{fake_slack.url}auth.test") as r:  # no token at all
            assert await r.json() == {"ok": False, "error": "not_authed"}
        async with http.get(f"{base}_calls", params={"method": "users.info"}) as r:
            calls = await r.json()
        assert [c["status"] for c in calls[-2:]] == [500, 200]
        async with http.delete(f"{base}_calls") as r:
            assert (await r.json())["ok"] is True
    assert fake_slack.calls() == []
