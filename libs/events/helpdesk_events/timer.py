"""The durable timer of a service whose state lives in MongoDB (SLA clocks, surveys): prepare the store
once MongoDB answers, then tick for ever; and a lifespan that runs it beside the event runtime."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from pymongo import AsyncMongoClient

from helpdesk_events.runtime import EventRuntime

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[object]]
PREPARE_RETRY_SECONDS = 2.0


class Every:
    """True once every `seconds` of the event loop's clock (the first call included): for the report
    gauges a timer refreshes far less often than it ticks."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._next = 0.0

    def due(self) -> bool:
        now = asyncio.get_running_loop().time()
        if now < self._next:
            return False
        self._next = now + self._seconds
        return True


async def run_timer(*, prepare: Step, tick: Step, interval: float, what: str) -> None:
    """`prepare` until it succeeds (MongoDB may be down at start: the service starts anyway, not ready),
    then `tick` every `interval` seconds; a failed tick is logged and the next one tries again."""
    while True:
        try:
            await prepare()
            break
        except Exception:
            log.exception("could not prepare the %s; trying again in %s s", what, PREPARE_RETRY_SECONDS)
            await asyncio.sleep(PREPARE_RETRY_SECONDS)
    while True:
        try:
            await tick()
        except Exception:  # Mongo or Kafka away: the next tick tries again; nothing is lost meanwhile
            log.exception("%s timer tick failed", what)
        await asyncio.sleep(interval)


def timer_lifespan(
    *, runtime: EventRuntime, mongo: AsyncMongoClient, prepare: Step, tick: Step, interval: float, what: str
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the event runtime and the timer; stop the timer, the runtime and the Mongo client."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        timer = asyncio.create_task(run_timer(prepare=prepare, tick=tick, interval=interval, what=what), name=what)
        try:
            yield
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            await runtime.stop()
            await mongo.close()

    return lifespan
