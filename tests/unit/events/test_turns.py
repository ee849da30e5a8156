"""Turns: one holder at a time per document, documents side by side, nothing kept once all are out."""

from __future__ import annotations

import asyncio

from helpdesk_events.outbox import Turns


async def test_holders_of_one_document_take_turns_and_other_documents_do_not_wait() -> None:
    turns, log = Turns(), []
    first_inside, release = asyncio.Event(), asyncio.Event()

    async def hold(document_id: str, name: str, wait: asyncio.Event | None = None) -> None:
        async with turns.of(document_id):
            log.append(f"{name} in")
            if wait is not None:
                first_inside.set()
                await wait.wait()
            log.append(f"{name} out")

    first = asyncio.create_task(hold("T1", "first", release))
    await first_inside.wait()
    second = asyncio.create_task(hold("T1", "second"))
    other = asyncio.create_task(hold("T2", "other"))
    await other  # T2 does not wait for T1's holder
    await asyncio.sleep(0.01)
    assert log == ["first in", "other in", "other out"]
    release.set()
    await asyncio.gather(first, second)
    assert log[3:] == ["first out", "second in", "second out"]
    assert turns._locks == {} and not turns._waiting  # a lock per document ever seen would grow forever


async def test_a_holder_that_fails_gives_the_turn_back() -> None:
    turns = Turns()
    try:
        async with turns.of("T1"):
            raise RuntimeError("the write failed")
    except RuntimeError:
        pass
    async with asyncio.timeout(1):
        async with turns.of("T1"):
            pass
    assert turns._locks == {}
