"""The retry policy: growing jittered waits, Retry-After honoured, and when to give up."""

from __future__ import annotations

import pytest

from helpdesk_notifier.ports import PermanentDeliveryError, TransientDeliveryError
from helpdesk_notifier.retry import GiveUp, Retry, RetryPolicy, http_failure, parse_retry_after, smtp_failure

POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=5.0, outage_seconds=0)


def test_waits_double_with_each_attempt_up_to_the_cap() -> None:
    highest = [POLICY.backoff(attempt, rand=lambda: 1.0) for attempt in range(1, 6)]
    assert highest == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_keeps_at_least_half_of_each_step() -> None:
    lowest = [POLICY.backoff(attempt, rand=lambda: 0.0) for attempt in range(1, 6)]
    assert lowest == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert POLICY.backoff(2, rand=lambda: 0.5) == 1.5


def test_a_network_error_or_5xx_is_retried_after_the_backoff() -> None:
    decision = POLICY.after_failure(1, TransientDeliveryError("HTTP 503"), rand=lambda: 1.0)
    assert decision == Retry(1.0)


def test_a_rate_limit_waits_as_long_as_retry_after_says_even_beyond_the_cap() -> None:
    assert POLICY.after_failure(1, TransientDeliveryError("HTTP 429", retry_after=3)) == Retry(3.0)
    assert POLICY.after_failure(2, TransientDeliveryError("HTTP 429", retry_after=30)) == Retry(30.0)


def test_the_last_attempt_gives_up() -> None:
    decision = POLICY.after_failure(5, TransientDeliveryError("HTTP 500"))
    assert isinstance(decision, GiveUp)
    assert decision.reason == "gave up after 5 attempts: HTTP 500"


def test_a_permanent_error_gives_up_at_once() -> None:
    decision = POLICY.after_failure(1, PermanentDeliveryError("channel_not_found"))
    assert decision == GiveUp("permanent error: channel_not_found")


def test_a_single_attempt_policy_never_retries() -> None:
    assert isinstance(
        RetryPolicy(max_attempts=1, outage_seconds=0).after_failure(1, TransientDeliveryError("x")), GiveUp
    )


def test_a_policy_needs_at_least_one_attempt() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (500, True), (502, True), (503, True), (400, False), (403, False), (404, False)],
)
def test_http_failures_are_retried_when_rate_limited_or_server_side(status: int, retryable: bool) -> None:
    assert http_failure(status, "boom").retryable is retryable


def test_a_rate_limit_carries_its_retry_after() -> None:
    error = http_failure(429, "ratelimited", "7")
    assert error.retry_after == 7.0
    assert str(error) == "HTTP 429: ratelimited"
    assert http_failure(503, "down", "7").retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1", 1.0), (" 30 ", 30.0), ("0.5", 0.5), (None, None), ("soon", None), ("-3", None)],
)
def test_retry_after_header_values(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_smtp_4yz_replies_are_transient_and_5yz_permanent() -> None:
    assert smtp_failure(451, "try later").retryable
    assert smtp_failure(421, "closing").retryable
    assert not smtp_failure(550, "no such user").retryable
    assert str(smtp_failure(550, "no such user")) == "SMTP 550: no such user"


def test_the_default_settings_ride_out_a_minute_long_outage() -> None:
    """Even with the shortest jitter, the last attempt comes more than a minute after the first."""
    from helpdesk_notifier.settings import Settings

    defaults = {name: Settings.model_fields[name].default for name in (
        "delivery_max_attempts", "delivery_base_delay_seconds", "delivery_max_delay_seconds")}  # fmt: skip
    policy = RetryPolicy(
        max_attempts=defaults["delivery_max_attempts"],
        base_delay=defaults["delivery_base_delay_seconds"],
        max_delay=defaults["delivery_max_delay_seconds"],
    )
    outage = TransientDeliveryError("SMTP server unreachable: ConnectionRefusedError")
    shortest_waits = [
        policy.after_failure(attempt, outage, rand=lambda: 0.0) for attempt in range(1, policy.max_attempts)
    ]
    assert all(isinstance(decision, Retry) for decision in shortest_waits)
    assert sum(decision.delay for decision in shortest_waits) > 60


def test_an_outage_is_waited_out_past_the_attempts_until_the_outage_budget_is_spent() -> None:
    """Slack answering 500 for half an hour: the delivery keeps trying every max_delay, and fails only
    once it has used its attempts and waited `outage_seconds` (the defaults: 10 attempts, one hour)."""
    policy = RetryPolicy()  # the defaults, as the notifier's settings give them
    assert policy.outage_seconds == 3600 and policy.max_attempts == 10
    outage = TransientDeliveryError("HTTP 500: Slack: internal_error")
    waited, attempt = 0.0, 0
    while True:
        attempt += 1
        decision = policy.after_failure(attempt, outage, rand=lambda: 1.0, waited=waited)
        if isinstance(decision, GiveUp):
            break
        waited += decision.delay
        if attempt > 10:
            assert decision == Retry(policy.max_delay)  # past the attempts: every max_delay
    assert waited >= policy.outage_seconds and attempt >= policy.max_attempts
    assert waited < policy.outage_seconds + policy.max_delay  # not a wait more than needed
    assert decision.reason == f"gave up after {attempt} attempts: HTTP 500: Slack: internal_error"
    # Attempts used but not the time: still waiting; time spent but not the attempts: still trying.
    assert isinstance(policy.after_failure(10, outage, waited=3599), Retry)
    assert isinstance(policy.after_failure(9, outage, waited=7200), Retry)
    # A refusal retrying cannot change fails at once, outage budget or not.
    assert isinstance(policy.after_failure(1, PermanentDeliveryError("channel_not_found")), GiveUp)


def test_rate_limited_answers_do_not_use_up_the_attempts_but_are_bounded_on_their_own() -> None:
    policy = RetryPolicy(max_attempts=3, max_rate_limited=40, outage_seconds=0)
    limited = TransientDeliveryError("HTTP 429", retry_after=1)
    # A burst of 429s longer than max_attempts: each one waits as told, none gives up.
    waits = [policy.after_failure(1, limited, rate_limited=count) for count in range(1, 41)]
    assert waits == [Retry(1.0)] * 40
    assert policy.is_rate_limit(limited) and not policy.is_rate_limit(TransientDeliveryError("HTTP 503"))
    # Failures still count as before whatever the 429s were, and the 429s have a bound of their own.
    assert isinstance(policy.after_failure(3, TransientDeliveryError("HTTP 503"), rate_limited=40), GiveUp)
    beyond = policy.after_failure(1, limited, rate_limited=41)
    assert isinstance(beyond, GiveUp) and "still rate limited after 41 waits" in beyond.reason
    # A 429 without Retry-After says nothing of when: it is an ordinary failure.
    assert not policy.is_rate_limit(TransientDeliveryError("HTTP 429"))
