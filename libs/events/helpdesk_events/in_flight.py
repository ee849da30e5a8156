"""The records a consumer handles at once, and handlers that only wait giving their slot up meanwhile.

A consumer bounds the records it handles at once, which bounds the load it puts on its stores. A
record whose handler only waits (a Slack channel's turn, the backoff before a retry) puts no load on
anything: `idle_sleep` lends its slot to another record for the wait and takes one back before the
handler goes on. Through a Slack outage the notifier holds hundreds of deliveries waiting to try
again; were each to keep its slot, the first sixteen would stop every other record, the requesters'
acknowledgement emails among them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class _Slot:
    slots: asyncio.Semaphore
    held: bool = True


# The slot the current task holds, if any; tasks a handler starts see it too (contextvars are copied),
# and `held` makes sure that only one of them lends it out at a time.
_SLOT: ContextVar[_Slot | None] = ContextVar("helpdesk_in_flight_slot", default=None)


class InFlight:
    """At most `limit` records handled at once; a record that sleeps with `idle_sleep` does not count."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._slots = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot while the block runs (less the `idle_sleep`s in it)."""
        await self._slots.acquire()
        slot = _Slot(self._slots)
        token = _SLOT.set(slot)
        try:
            yield
        finally:
            _SLOT.reset(token)
            if slot.held:  # not when cancelled while taking it back after a sleep
                self._slots.release()


async def idle_sleep(seconds: float) -> None:
    """`asyncio.sleep` that, within `InFlight.slot`, lets another record have the slot for the sleep."""
    slot = _SLOT.get()
    if slot is None or not slot.held:
        await asyncio.sleep(seconds)
        return
    slot.held = False
    slot.slots.release()
    try:
        await asyncio.sleep(seconds)
    finally:
        await slot.slots.acquire()
        slot.held = True
