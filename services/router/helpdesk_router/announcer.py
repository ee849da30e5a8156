"""Telling what the desk decided: each ticket's events in the order decided, different tickets side by side.

The desk decides under its lock and tells outside it: a produce acknowledged by Kafka takes a
round trip to the broker (two per assigned ticket), and holding the lock for those would make
the broker's latency the pace of every assignment in the process. Each telling is a task that
publishes, then marks the decision told; it starts only once the ticket's previous telling has
finished, so a ticket's events keep the order in which they were decided. If that earlier one
failed, the later one fails too rather than overtake it: both decisions are told again by
their retries, with the same event ids.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from helpdesk_router.assignment import Announcement
from helpdesk_router.ports import EventSink

log = logging.getLogger(__name__)

Mark = Callable[[], Awaitable[object]]


class EarlierTellingFailed(RuntimeError):
    """A ticket's earlier events were not told, so the later ones are not told before them."""


class Announcer:
    def __init__(self, events: EventSink) -> None:
        self._events = events
        self._latest: dict[str, asyncio.Task[None]] = {}  # per ticket, its last telling not yet finished
        self._by_ids: dict[tuple[object, ...], asyncio.Task[None]] = {}

    def tell(
        self, ticket_id: str, announcements: list[Announcement], *, what: str, mark: Mark | None = None
    ) -> asyncio.Task[None]:
        """Start telling the announcements of one ticket, then `mark` it told; the task to await.

        `what` names the decision told (with its events, the telling's identity): the same decision
        already being told (a replay, a queue offered again meanwhile) is not told twice, its
        telling is returned, so its mark must be the same.
        """
        ids = (what, ticket_id, *(event_id for _, event_id in announcements))
        telling = self._by_ids.get(ids)
        if telling is not None:
            return telling
        telling = asyncio.create_task(
            self._tell(ticket_id, self._latest.get(ticket_id), announcements, mark),
            name=f"router-tell-{ticket_id}",
        )
        self._latest[ticket_id] = telling
        self._by_ids[ids] = telling
        telling.add_done_callback(lambda done: self._finished(ticket_id, ids, done))
        return telling

    async def _tell(
        self,
        ticket_id: str,
        previous: asyncio.Task[None] | None,
        announcements: list[Announcement],
        mark: Mark | None,
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])  # not `await previous`: its failure is not this task's to raise as is
            if previous.cancelled() or previous.exception() is not None:
                raise EarlierTellingFailed(f"an earlier event of ticket {ticket_id} was not told")
        for payload, event_id in announcements:
            await self._events.emit(payload, ticket_id=ticket_id, event_id=event_id)
        if mark is not None:
            await mark()

    def _finished(self, ticket_id: str, ids: tuple[object, ...], done: asyncio.Task[None]) -> None:
        if self._latest.get(ticket_id) is done:
            del self._latest[ticket_id]
        if self._by_ids.get(ids) is done:
            del self._by_ids[ids]
        if not done.cancelled() and done.exception() is not None:
            # Retrieved here so that a telling nobody waits for any more (its caller was stopped) is not
            # reported as never retrieved; the caller that waits logs or retries it.
            log.debug("telling of %s failed: %r", ticket_id, done.exception())


async def until_told(tellings: Iterable[asyncio.Task[None]]) -> None:
    """Wait for every telling (a stop of the caller leaves them running); raise the first that failed."""
    tellings = list(tellings)
    if tellings:
        await asyncio.wait(tellings)  # not gather: cancelling this caller must not cancel the tellings
    for telling in tellings:
        telling.result()  # raises what it failed with
