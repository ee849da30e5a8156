"""Per-record rules of the dispatcher: decode at the edge, retry, dead-letter, never stop."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from helpdesk_events import Envelope, TicketCreated, TicketStatusChanged, encode, new_envelope
from helpdesk_events.consumer import ConsumedRecord, DeadLetter, EventDispatcher, Outcome
from tests.support.samples import sample_payloads


class InMemoryDeadLetters:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = []
        self.fail = fail

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None, headers: Sequence[tuple[str, bytes]]) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.records.append((topic, value, key, dict(headers)))


def record(value: bytes, offset: int = 7) -> ConsumedRecord:
    return ConsumedRecord(
        topic="p.tickets", partition=2, offset=offset, key=b"T-1", value=value, headers=(("traceparent", b"00-x"),)
    )


def created() -> bytes:
    return encode(new_envelope(sample_payloads()[0], source="test", ticket_id="T-1"))


def dispatcher(handlers, sink, attempts: int = 3) -> EventDispatcher:
    return EventDispatcher(
        service="test", group_id="g", handlers=handlers, dead_letters=sink,
        dead_letter_topic="p.deadletter", max_attempts=attempts, retry_backoff_seconds=0,
    )


async def test_a_valid_event_reaches_its_handler_typed() -> None:
    seen: list[Envelope] = []

    async def handle(envelope: Envelope) -> None:
        seen.append(envelope)

    outcome = await dispatcher({TicketCreated: handle}, InMemoryDeadLetters()).dispatch(record(created()))
    assert outcome is Outcome.HANDLED
    assert isinstance(seen[0].payload, TicketCreated) and seen[0].ticket_id == "T-1"


async def test_events_without_a_handler_are_skipped_unparsed() -> None:
    sink = InMemoryDeadLetters()
    outcome = await dispatcher({TicketStatusChanged: lambda e: None}, sink).dispatch(record(created()))
    assert outcome is Outcome.SKIPPED and sink.records == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [(b"\xff not json", b"undecodable"), (b'{"type": "ticket.created", "version": 1, "payload": {}}', b"invalid")],
)
async def test_poison_records_go_to_the_dead_letter_topic_as_they_came(value: bytes, reason: bytes) -> None:
    sink = InMemoryDeadLetters()

    async def handle(envelope: Envelope) -> None:
        raise AssertionError("must not be called")

    outcome = await dispatcher({TicketCreated: handle}, sink).dispatch(record(value))
    assert outcome is Outcome.DEAD_LETTERED
    topic, dead_value, key, headers = sink.records[0]
    assert (topic, dead_value, key) == ("p.deadletter", value, b"T-1")
    assert headers["dlq-reason"] == reason
    assert headers["dlq-original-topic"] == b"p.tickets"
    assert headers["dlq-original-offset"] == b"7" and headers["dlq-original-partition"] == b"2"
    assert headers["traceparent"] == b"00-x"


async def test_a_failing_handler_is_retried_and_then_succeeds() -> None:
    calls = 0

    async def flaky(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise ConnectionError("mongo blinked")

    sink = InMemoryDeadLetters()
    assert await dispatcher({TicketCreated: flaky}, sink, attempts=3).dispatch(record(created())) is Outcome.HANDLED
    assert calls == 3 and sink.records == []


async def test_a_handler_that_keeps_failing_is_dead_lettered_after_the_last_attempt() -> None:
    calls = 0

    async def broken(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise ValueError("bad data")

    sink = InMemoryDeadLetters()
    assert await dispatcher({TicketCreated: broken}, sink, attempts=4).dispatch(record(created())) is Outcome.DEAD_LETTERED
    assert calls == 4
    assert sink.records[0][3]["dlq-reason"] == b"handler_failed"
    assert b"bad data" in sink.records[0][3]["dlq-error"]


async def test_a_handler_can_reject_an_event_without_retries() -> None:
    calls = 0

    async def reject(envelope: Envelope) -> None:
        nonlocal calls
        calls += 1
        raise DeadLetter("recipient refused")

    sink = InMemoryDeadLetters()
    assert await dispatcher({TicketCreated: reject}, sink, attempts=5).dispatch(record(created())) is Outcome.DEAD_LETTERED
    assert calls == 1 and sink.records[0][3]["dlq-reason"] == b"rejected"


async def test_when_even_the_dead_letter_topic_fails_the_error_reaches_the_caller() -> None:
    """The consumer must then keep the offset and read the record again, so nothing is lost."""
    with pytest.raises(ConnectionError):
        await dispatcher({TicketCreated: lambda e: None}, InMemoryDeadLetters(fail=True)).dispatch(record(b"garbage"))


@pytest.mark.parametrize("outage", [ConnectionError("refused"), TimeoutError()])
async def test_a_handler_failing_on_an_unreachable_dependency_is_not_dead_lettered(outage: Exception) -> None:
    """A MongoDB or Redis outage says nothing about the event: it must be read again, not parked."""
    from helpdesk_events.consumer import DependencyUnavailable

    async def store_down(envelope: Envelope) -> None:
        raise outage

    sink = InMemoryDeadLetters()
    with pytest.raises(DependencyUnavailable):
        await dispatcher({TicketCreated: store_down}, sink, attempts=2).dispatch(record(created()))
    assert sink.records == []


async def test_pymongo_connection_failures_count_as_an_outage() -> None:
    from pymongo.errors import ServerSelectionTimeoutError

    from helpdesk_events.consumer import DependencyUnavailable

    async def mongo_down(envelope: Envelope) -> None:
        raise ServerSelectionTimeoutError("no servers")

    sink = InMemoryDeadLetters()
    with pytest.raises(DependencyUnavailable):
        await dispatcher({TicketCreated: mongo_down}, sink, attempts=2).dispatch(record(created()))
    assert sink.records == []
