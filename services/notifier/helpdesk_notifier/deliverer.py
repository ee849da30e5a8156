"""Making one delivery at most once: guard, record, attempt with retries, record, announce.

The flow for a delivery key:
1. Hold the Redis guard (SET NX with a TTL), so two workers never send the same delivery at once.
2. Read the MongoDB record; `deliveries.next_step` decides: a settled delivery (sent, recorded,
   skipped) is a replay and nothing is sent.
3. Otherwise record "sending" (with the composed content) and make attempts: `in_flight` is set
   before each and cleared when its failure is written; waits follow the `RetryPolicy`.
4. Record the outcome, then announce it on the notifications topic and mark it announced. A send that
   finds, when its turn comes, that the recipient already has it (`NothingToSend`: an update to what
   the message shows) settles the delivery as skipped, which is not announced.

The remaining window is a crash between the provider accepting a message and step 4's record.
A replay then finds the delivery "sending" and in flight: email is sent again with the same
Message-ID, which the customer's mail client shows as one message. A Slack post is not made
again blind: `find_posted` looks for it in the conversation by its metadata (which names the
delivery); found, the delivery is settled as sent with that message's ts, not found, it is
posted. Without `find_posted` the delivery fails with that reason and its trigger is
dead-lettered, for a person to check. An update of a message (a repeatable kind) is made again.
A crash after the record and before the announcement is repaired by the replay (it announces).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import NoReturn

from helpdesk_events import NotificationFailed, NotificationSent
from helpdesk_events.consumer import DeadLetter
from helpdesk_events.in_flight import idle_sleep
from helpdesk_events.publisher import EventPublisher
from helpdesk_notifier.deliveries import (
    Delivery,
    DeliveryRequest,
    DeliveryStatus,
    Step,
    failed_event,
    next_step,
    notification_event_id,
    sent_event,
)
from helpdesk_notifier.delivery_guard import RedisDeliveryGuard
from helpdesk_notifier.delivery_store import MongoDeliveryStore
from helpdesk_notifier.ports import DeliveryError, NothingToSend, Receipt
from helpdesk_notifier.retry import GiveUp, Retry, RetryPolicy

log = logging.getLogger(__name__)

Send = Callable[[Delivery], Awaitable[Receipt]]
# Looks for an interrupted Slack post in its conversation: its receipt when it went out, else None.
FindPosted = Callable[[Delivery], Awaitable[Receipt | None]]

INTERRUPTED_SLACK_POST = (
    "interrupted during a Slack post: the message may or may not have been posted, "
    "so it is not posted again; check the agent's messages before re-driving"
)


class DeliveryBusy(Exception):
    """Another worker holds this delivery now; the dispatcher retries, by when it is settled."""


class Deliverer:
    def __init__(
        self,
        *,
        store: MongoDeliveryStore,
        guard: RedisDeliveryGuard,
        publisher: EventPublisher,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = idle_sleep,  # a retry's wait frees the record's slot
        rand: Callable[[], float] = random.random,
        find_posted: FindPosted | None = None,
    ) -> None:
        self._store = store
        self._find_posted = find_posted
        self._guard = guard
        self._publisher = publisher
        self._policy = policy
        self._sleep = sleep
        self._rand = rand

    async def deliver(self, request: DeliveryRequest, send: Send) -> Delivery:
        """Send `request` through `send` unless it was already; raises DeadLetter when it fails for good."""
        async with self._guard.hold(request.key) as held:
            record = await self._store.get(request.key)
            step = next_step(record)
            if step is Step.NOTHING:
                assert record is not None
                log.info("delivery %s already %s: nothing sent", request.key, record.status)
                return record
            if not held:
                raise DeliveryBusy(f"delivery {request.key} is being made by another worker")
            if step is Step.ANNOUNCE:
                assert record is not None
                return await self._announce(record, sent_event(record))
            if step is Step.ABANDON:
                assert record is not None
                found = await self._look_for_post(record)
                if found is not None:
                    return found
            return await self._attempt(await self._store.begin(request), send)

    async def skip(self, request: DeliveryRequest, reason: str) -> Delivery:
        """Record that there is nobody to send to; a replay finds the same record."""
        record = await self._store.skip(request, reason)
        log.info("delivery %s skipped: %s", request.key, reason)
        return record

    async def unneeded(self, request: DeliveryRequest, reason: str) -> None:
        """There is nothing to send for `request`: the recipient already has it. No record is made (most
        such requests never had one); one left open by an earlier try of the same trigger is settled as
        skipped, so it does not stay "sending"."""
        if await self._store.skip_open(request.key, reason):
            log.info("delivery %s skipped: %s", request.key, reason)

    async def _attempt(self, record: Delivery, send: Send) -> Delivery:
        tally = _Tally(self._policy)
        while True:
            record = await self._store.start_attempt(record.key)
            try:
                receipt = await send(record)
            except NothingToSend as nothing:
                record = await self._store.settle(record.key, DeliveryStatus.SKIPPED, reason=str(nothing))
                log.info("delivery %s skipped: %s", record.key, nothing)
                return record
            except DeliveryError as error:
                decision = tally.after(error, self._rand)
                if isinstance(decision, GiveUp):
                    await self._give_up(record, decision.reason)
                await self._store.attempt_failed(record.key, str(error))
                log.warning("delivery %s attempt %d failed (%s); next in %.2f s",
                            record.key, record.attempts, error, decision.delay)  # fmt: skip
                await self._sleep(decision.delay)
            else:
                status = DeliveryStatus.RECORDED if receipt.recorded_only else DeliveryStatus.SENT
                record = await self._store.settle(
                    record.key, status, external_id=receipt.external_id, conversation=receipt.conversation
                )
                return await self._announce(record, sent_event(record))

    async def _look_for_post(self, record: Delivery) -> Delivery | None:
        """Settle an interrupted Slack post from what the conversation shows: the settled record when
        the message is there, None when it is not (so it is posted). Looking is retried like a send;
        when it cannot be done, the delivery fails rather than risk a second message."""
        if self._find_posted is None:
            await self._give_up(record, INTERRUPTED_SLACK_POST)
        tally = _Tally(self._policy)
        while True:
            try:
                receipt = await self._find_posted(record)
            except DeliveryError as error:
                decision = tally.after(error, self._rand)
                if isinstance(decision, GiveUp):
                    reason = f"{INTERRUPTED_SLACK_POST}; could not look for it: {decision.reason}"
                    await self._give_up(record, reason)
                log.warning("delivery %s: looking for the interrupted post failed (%s); next in %.2f s",
                            record.key, error, decision.delay)  # fmt: skip
                await self._sleep(decision.delay)
                continue
            if receipt is None:
                log.info("delivery %s: the interrupted post is not in the conversation: posting", record.key)
                return None
            log.info("delivery %s: the interrupted post went out (ts %s); not posting again",
                     record.key, receipt.external_id)  # fmt: skip
            record = await self._store.settle(
                record.key,
                DeliveryStatus.SENT,
                external_id=receipt.external_id,
                conversation=receipt.conversation,
            )
            return await self._announce(record, sent_event(record))

    async def _announce(self, record: Delivery, payload: NotificationSent | NotificationFailed) -> Delivery:
        event_id = notification_event_id(record.key, payload.event_type)
        await self._publisher.emit(payload, ticket_id=record.ticket_id, event_id=event_id)
        return await self._store.mark_announced(record.key)

    async def _give_up(self, record: Delivery, error: str) -> NoReturn:
        record = await self._store.settle(record.key, DeliveryStatus.FAILED, error=error)
        await self._announce(record, failed_event(record))
        log.error("delivery %s failed after %d attempts: %s", record.key, record.attempts, error)
        raise DeadLetter(f"delivery {record.key} failed: {error}")


class _Tally:
    """The failures and the rate-limited answers of one delivery so far, counted apart (see retry.py)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._failures = 0
        self._rate_limited = 0
        self._waited = 0.0  # after failed attempts, not after rate-limited answers

    def after(self, error: DeliveryError, rand: Callable[[], float]) -> Retry | GiveUp:
        rate_limited = self._policy.is_rate_limit(error)
        if rate_limited:
            self._rate_limited += 1
        else:
            self._failures += 1
        decision = self._policy.after_failure(
            self._failures, error, rand, rate_limited=self._rate_limited, waited=self._waited
        )
        if isinstance(decision, Retry) and not rate_limited:
            self._waited += decision.delay
        return decision
