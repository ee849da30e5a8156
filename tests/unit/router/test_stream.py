"""The faust agent of the tickets stream, without a broker (faust's agent test context)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from helpdesk_events.consumer import ConsumedRecord, Outcome
from helpdesk_router.settings import Settings
from helpdesk_router.stream import TicketStream, dispatch_until_done


class FlakyDispatcher:
    """Raises `failures` times (the dead-letter topic unreachable), then takes every record."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.attempts = 0
        self.records: list[ConsumedRecord] = []

    async def dispatch(self, record: ConsumedRecord) -> Outcome:
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("dead-letter topic unreachable")
        self.records.append(record)
        return Outcome.HANDLED


@pytest.fixture
async def stream_and_dispatcher(request: pytest.FixtureRequest) -> AsyncIterator[tuple[TicketStream, FlakyDispatcher]]:
    dispatcher = FlakyDispatcher(getattr(request, "param", 0))
    stream = TicketStream(Settings(kafka_topic_prefix="unit."), dispatcher, first_retry_wait=0.01)  # type: ignore[arg-type]
    app = stream.build()
    yield stream, dispatcher
    # test_context builds faust's consumer without ever starting it: close its thread's event loop.
    thread = getattr(app.consumer, "_thread", None)
    if thread is not None and not thread.thread_loop.is_closed():
        thread.thread_loop.close()
    await stream.stop()


async def feed(stream: TicketStream, dispatcher: FlakyDispatcher, *records: dict[str, Any]) -> None:
    """Hand records to the tickets agent as faust would, and wait until the dispatcher took them all:
    the agent starts each in its lane and takes the next at once."""
    assert stream.app is not None
    async with stream.app.agents["router.tickets"].test_context() as agent:
        for record in records:
            await agent.put(**record)
        for _ in range(200):
            if len(dispatcher.records) == len(records):
                break
            await asyncio.sleep(0.01)


async def test_each_record_reaches_the_dispatcher_with_key_value_and_headers(
    stream_and_dispatcher: tuple[TicketStream, FlakyDispatcher],
) -> None:
    stream, dispatcher = stream_and_dispatcher
    await feed(
        stream, dispatcher, {"value": b'{"type": "ticket.created"}', "key": b"T-1", "headers": {"traceparent": b"00-abc-def-01"}}
    )
    [record] = dispatcher.records
    assert (record.topic, record.key, record.value) == ("unit.tickets", b"T-1", b'{"type": "ticket.created"}')
    assert list(record.headers) == [("traceparent", b"00-abc-def-01")]


@pytest.mark.parametrize("stream_and_dispatcher", [2], indirect=True)
async def test_the_agent_survives_a_dispatch_that_raises_and_retries_the_same_record(
    stream_and_dispatcher: tuple[TicketStream, FlakyDispatcher],
) -> None:
    stream, dispatcher = stream_and_dispatcher
    await feed(stream, dispatcher, {"value": b"first", "key": b"T-1"}, {"value": b"second", "key": b"T-2"})
    assert [record.value for record in dispatcher.records] == [b"first", b"second"]
    assert dispatcher.attempts == 4


async def test_dispatch_until_done_backs_off_and_then_returns() -> None:
    dispatcher = FlakyDispatcher(failures=5)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    record = ConsumedRecord(topic="t", partition=0, offset=7, key=None, value=b"x")
    await dispatch_until_done(dispatcher.dispatch, record, first_wait=1.0, longest_wait=4.0, sleep=sleep)
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert dispatcher.records == [record]
