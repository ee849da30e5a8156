"""Slack's v0 request signing: is this request from Slack, and fresh?

Pure: bytes, headers and a clock in; a reason out when the request must be refused.
https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

VERSION = "v0"
MAX_AGE_SECONDS = 300  # Slack's advice: refuse requests more than five minutes from now (replays)


class BadSlackSignature(Exception):
    """The request is not provably from Slack, or too old or new; the message says why (HTTP 401)."""


class SlackSignatureVerifier:
    def __init__(
        self, signing_secret: str, *, clock: Callable[[], float] = time.time, max_age: float = MAX_AGE_SECONDS
    ) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._max_age = max_age

    def signature(self, timestamp: str, body: bytes) -> str:
        """`v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` under the signing secret."""
        base = f"{VERSION}:{timestamp}:".encode() + body
        return f"{VERSION}=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()

    def verify(self, timestamp: str | None, signature: str | None, body: bytes) -> None:
        """Passes for a fresh request signed with our secret over exactly these bytes."""
        if not timestamp:
            raise BadSlackSignature("X-Slack-Request-Timestamp is missing")
        if not signature:
            raise BadSlackSignature("X-Slack-Signature is missing")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise BadSlackSignature("X-Slack-Request-Timestamp is not a Unix time in seconds") from None
        if abs(self._clock() - sent_at) > self._max_age:
            raise BadSlackSignature(
                f"X-Slack-Request-Timestamp is more than {self._max_age:g} s from now: stale or replayed"
            )
        if not hmac.compare_digest(self.signature(timestamp, body).encode(), signature.encode()):
            raise BadSlackSignature("X-Slack-Signature does not match the body")
