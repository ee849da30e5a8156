"""KafkaLink keeps trying in the background instead of failing the service's start."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from helpdesk_intake.kafka_link import KafkaLink


class FlakyRuntime:
    """Stands in for EventRuntime: refuses to start `failures` times, then starts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[str] = []
        self.kafka = SimpleNamespace(bootstrap_servers="127.0.0.1:1")
        self.publisher = SimpleNamespace(check=self._check)
        self.started = asyncio.Event()

    async def start(self, attempts: int = 30, delay: float = 1.0) -> None:
        self.calls.append(f"start x{attempts}")
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("Unable to bootstrap")
        self.started.set()

    async def stop(self) -> None:
        self.calls.append("stop")

    async def _check(self) -> None:
        self.calls.append("check")


async def test_a_healthy_start_connects_in_the_lifespan() -> None:
    runtime = FlakyRuntime(failures=0)
    link = KafkaLink(runtime, retry_seconds=60)  # type: ignore[arg-type]
    await link.start()
    assert link.connected
    await link.check()
    await link.stop()
    assert runtime.calls == ["start x1", "check", "stop"]


async def test_a_broker_down_at_start_is_retried_in_the_background_until_it_answers() -> None:
    runtime = FlakyRuntime(failures=2)
    link = KafkaLink(runtime, retry_seconds=0.01)  # type: ignore[arg-type]
    await link.start()  # returns although the broker refused
    assert not link.connected
    with pytest.raises(ConnectionError, match="not connected to Kafka yet: ConnectionError"):
        await link.check()

    await asyncio.wait_for(runtime.started.wait(), 5)
    assert link.connected
    # Each failed attempt is undone before the next, so nothing half-started lingers.
    assert runtime.calls == ["start x1", "stop", "start x1", "stop", "start x1"]
    await link.stop()


async def test_stopping_while_still_retrying_ends_the_retries() -> None:
    runtime = FlakyRuntime(failures=10**6)
    link = KafkaLink(runtime, retry_seconds=0.01)  # type: ignore[arg-type]
    await link.start()
    await link.stop()
    assert not [task for task in asyncio.all_tasks() if task.get_name() == "kafka-link"]
    assert runtime.calls[-1] == "stop" and not link.connected
