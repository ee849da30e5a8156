"""A broker that comes back without the records a consumer had read: the embedded broker after a restart.

It answers a fetch past the end of a partition's new, shorter log with nothing rather than an out-of-range
error, so a consumer that keeps its position would wait there and skip every record written below it.
`ShortenedLogWatch` is what notices; these tests run it against the real broker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devtools.servers import EmbeddedKafka, free_port
from helpdesk_events.consumer import ShortenedLogWatch

TOPIC = "shortened-logs"


async def produce(bootstrap: str, values: list[bytes]) -> None:
    # One record per batch: the embedded broker numbers a batch of several records wrongly.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", max_batch_size=1)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(TOPIC, value, partition=0)
    finally:
        await producer.stop()


async def read(consumer: AIOKafkaConsumer, rounds: int = 6) -> list[bytes]:
    values: list[bytes] = []
    for _ in range(rounds):
        batches = await consumer.getmany(timeout_ms=300)
        values += [record.value for records in batches.values() for record in records]
    return values


async def test_a_log_shorter_than_the_position_is_found_and_read_again_from_its_beginning(tmp_path: Path) -> None:
    broker = EmbeddedKafka(port=free_port(), log_dir=tmp_path / "kafka")  # the same port after the restart
    await asyncio.to_thread(broker.start)
    partition = TopicPartition(TOPIC, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
    )  # fmt: skip
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        await admin.create_topics([NewTopic(TOPIC, 1, 1)])
        await admin.close()
        await produce(broker.bootstrap_servers, [f"old {n}".encode() for n in range(30)])
        await consumer.start()
        consumer.assign([partition])
        assert len(await read(consumer)) == 30
        watch = ShortenedLogWatch()
        assert await watch.check(consumer) == [] and await watch.check(consumer) == []  # caught up is not short

        await asyncio.to_thread(broker.stop)
        await asyncio.to_thread(broker.start)  # empty: the topic is created again on first use
        new = [f"new {n}".encode() for n in range(5)]
        await produce(broker.bootstrap_servers, new)

        assert await read(consumer) == []  # waiting at offset 30 of a log that ends at 5: skipping
        assert await consumer.position(partition) == 30 and consumer.highwater(partition) == 5
        assert await watch.check(consumer) == []  # once may be a highwater one fetch behind
        assert await watch.check(consumer) == [partition]
        await consumer.seek_to_beginning(partition)
        assert await read(consumer) == new
    finally:
        await consumer.stop()
        await asyncio.to_thread(broker.stop)
