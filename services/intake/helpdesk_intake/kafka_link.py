"""Keeps the service connected to Kafka: a broker that is down at startup must not crash intake."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from helpdesk_events.runtime import EventRuntime

log = logging.getLogger(__name__)


class KafkaLink:
    """Starts the event runtime (topics, publisher, read-model consumer), retrying in the background.

    The first attempt runs in the lifespan, so a healthy start is ready when the app is. While
    Kafka is unreachable the publisher stays unstarted: POST /v1/tickets answers 503 and /readyz
    reports kafka as not ready, until an attempt succeeds.
    """

    def __init__(self, runtime: EventRuntime, retry_seconds: float) -> None:
        self._runtime = runtime
        self._retry_seconds = retry_seconds
        self._connected = False
        self._last_error = "not started"
        self._retrying: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        if not await self._attempt():
            self._retrying = asyncio.create_task(self._keep_trying(), name="kafka-link")

    async def stop(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying
            self._retrying = None
        self._connected = False
        await self._runtime.stop()

    async def check(self) -> None:
        """Readiness: connected, and the broker still answers a metadata request."""
        if not self._connected:
            raise ConnectionError(f"not connected to Kafka yet: {self._last_error}")
        await self._runtime.publisher.check()

    async def _keep_trying(self) -> None:
        while True:
            await asyncio.sleep(self._retry_seconds)
            if await self._attempt():
                return

    async def _attempt(self) -> bool:
        try:
            await self._runtime.start(attempts=1)
        except Exception as error:
            self._last_error = repr(error)
            log.warning(
                "Kafka at %s unreachable (%r); retrying every %g s",
                self._runtime.kafka.bootstrap_servers,
                error,
                self._retry_seconds,
            )
            await self._runtime.stop()  # whatever half started: the next attempt starts from scratch
            return False
        self._connected = True
        log.info("connected to Kafka at %s", self._runtime.kafka.bootstrap_servers)
        return True
