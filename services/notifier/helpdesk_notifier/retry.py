"""How many times to try a delivery and how long to wait in between. Pure: no clock, no I/O.

Waits grow exponentially (base * 2^(attempt-1), capped at `max_delay`) with "equal jitter": half
the step is fixed and half is random, so many deliveries failing together do not retry together,
yet every retry waits at least half its step. A rate limit's `Retry-After` is honoured exactly,
even above `max_delay`: retrying sooner only earns another 429.

A rate-limited answer with `Retry-After` is not a failure of the delivery: Slack said when to come
back. It does not use up one of `max_attempts` (a burst of 429s would otherwise exhaust them and
lose the message); `max_rate_limited` bounds those waits on their own.

An outage (Slack answering 5xx, Slack or the mail server unreachable) is waited out for
`outage_seconds` of waiting, not only `max_attempts` attempts: a delivery fails once it has used both,
so Slack down for half an hour delays its messages and loses none. The waits are counted by the
caller (the sum of the delays it was told to wait), which keeps this module free of a clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from helpdesk_notifier.ports import DeliveryError, PermanentDeliveryError, TransientDeliveryError


@dataclass(frozen=True)
class Retry:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 10
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_rate_limited: int = 60
    outage_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.outage_seconds < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        step = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return step / 2 + rand() * step / 2

    def after_failure(
        self,
        attempt: int,
        error: DeliveryError,
        rand: Callable[[], float] = random.random,
        *,
        rate_limited: int = 0,
        waited: float = 0.0,
    ) -> Retry | GiveUp:
        """What to do once failed attempt number `attempt` (1-based, rate-limited answers not counted)
        failed with `error`, or once the `rate_limited`-th rate-limited answer came (`error` then has
        `retry_after`); `waited`: the seconds already waited after this delivery's failed attempts."""
        if not error.retryable:
            return GiveUp(f"permanent error: {error}")
        if error.retry_after is not None:
            if rate_limited > self.max_rate_limited:
                return GiveUp(f"still rate limited after {rate_limited} waits: {error}")
            return Retry(max(0.0, error.retry_after))
        if attempt >= self.max_attempts and waited >= self.outage_seconds:
            return GiveUp(f"gave up after {attempt} attempts: {error}")
        return Retry(self.backoff(attempt, rand))

    def is_rate_limit(self, error: DeliveryError) -> bool:
        """An answer that says when to come back (`Retry-After`): counted apart from failures."""
        return error.retryable and error.retry_after is not None


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (Slack sends whole seconds); None when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def http_failure(status: int, detail: str, retry_after: str | None = None) -> DeliveryError:
    """Classify an HTTP answer that was not a success: 429 and 5xx are worth retrying, other 4xx not."""
    message = f"HTTP {status}: {detail}"
    if status == 429:
        return TransientDeliveryError(message, retry_after=parse_retry_after(retry_after))
    if status >= 500:
        return TransientDeliveryError(message)
    return PermanentDeliveryError(message)


def smtp_failure(code: int, detail: str) -> DeliveryError:
    """Classify an SMTP reply: 4yz is a transient refusal (greylisting, full queue), 5yz a permanent one."""
    message = f"SMTP {code}: {detail}"
    if 400 <= code < 500:
        return TransientDeliveryError(message)
    return PermanentDeliveryError(message)
