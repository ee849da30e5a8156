"""Debian's Chromium driven by Playwright, for the survey pages (`make browser` installs it where it may).

Playwright's own browser downloads cannot reach this network, so the launch names the system binary.
The flags are the ones headless Chromium needs as root in a sandbox with a closed network: without the
background-networking ones it opens many connections that are refused, at every start.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        # The survey page must be shown working in a real browser: without one this is a failure, not a skip.
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs Debian's package (as root), "
                    "or install it yourself (apt-get install chromium) or point CHROMIUM_PATH at one")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()
