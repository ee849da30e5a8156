"""The onlooker's reader that the test tap, make bench and make chaos share, on the real broker: from the
beginning or only what comes after it started, every partition, and a clear error for a missing topic."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devtools.topic_reader import TopicReader

pytestmark = pytest.mark.integration


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    # One record per batch (the embedded broker numbers a batch of several wrongly); spread on 2 partitions.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1)
    await producer.start()
    try:
        for n, value in enumerate(values):
            await producer.send_and_wait(topic, value, partition=n % 2)
    finally:
        await producer.stop()


async def test_a_reader_from_the_beginning_sees_everything_and_one_from_the_end_only_what_came_after(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}reader"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 2, 1)])
    await admin.close()
    await produce(kafka_bootstrap, topic, [b"before 1", b"before 2", b"before 3"])
    seen: dict[str, list[bytes]] = {"whole": [], "later": []}

    def keep(name: str):  # type: ignore[no-untyped-def]
        async def on_records(records: list) -> None:
            seen[name] += [record.value for record in records]

        return on_records

    whole = TopicReader(kafka_bootstrap, [topic], keep("whole"))
    later = TopicReader(kafka_bootstrap, [topic], keep("later"), from_end=True)
    await whole.start()
    await later.start()
    try:
        await produce(kafka_bootstrap, topic, [b"after 1", b"after 2"])
        async with asyncio.timeout(15):
            while len(seen["whole"]) < 5 or len(seen["later"]) < 2:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything more would have come by now
    finally:
        await whole.stop()
        await later.stop()

    assert sorted(seen["whole"]) == [b"after 1", b"after 2", b"before 1", b"before 2", b"before 3"]
    assert sorted(seen["later"]) == [b"after 1", b"after 2"]


async def test_a_topic_still_missing_after_the_wait_is_named(kafka_bootstrap: str, topic_prefix: str) -> None:
    reader = TopicReader(kafka_bootstrap, [f"{topic_prefix}never"], lambda records: asyncio.sleep(0),
                         wait_for_topics=0.3)  # fmt: skip
    with pytest.raises(RuntimeError, match=f"no topic {topic_prefix}never"):
        await reader.start()
