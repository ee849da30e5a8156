"""Waiting for a process under test (a real service process) to reach a state, failing with its logs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import pytest

Text = str | Callable[[], str]


def _text(value: Text) -> str:
    return value() if callable(value) else value


async def until(
    check: Callable[[], bool | Awaitable[bool]], timeout: float, what: Text, logs: Text, every: float = 0.2
) -> None:
    """Poll `check`; on timeout fail with what was awaited (as it stands then) and the service's logs.

    A bound on a wait, not a timed assertion: it keeps a service that never gets there from hanging the suite.
    """
    try:
        async with asyncio.timeout(timeout):
            while True:
                result = check()
                if await result if inspect.isawaitable(result) else result:
                    return
                await asyncio.sleep(every)
    except TimeoutError:
        pytest.fail(f"{_text(what)} did not happen within {timeout:.0f} s; logs: {_text(logs)}")
