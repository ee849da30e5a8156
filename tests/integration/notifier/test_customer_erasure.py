"""The notifier's share of `customer.erased`: its copy of the ticket and the deliveries about the
customer lose the personal data; status and attempts stay; a replay changes nothing more."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from helpdesk_events import CustomerErased, Envelope, new_envelope
from helpdesk_notifier.customer_erasure import ERASED, erased_key
from helpdesk_notifier.settings import Settings
from tests.integration.notifier.conftest import RunningNotifier
from tests.integration.notifier.events import (
    new_slack_user_id,
    new_ticket_id,
    ticket_assigned,
    ticket_created,
)

pytestmark = pytest.mark.integration


async def deliveries_when(
    notifier: RunningNotifier, ticket_id: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        while not until(deliveries := await notifier.deliveries(ticket_id)):
            await asyncio.sleep(0.05)
    return deliveries


def settled(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda deliveries: len(deliveries) == count and all(d["status"] == "sent" for d in deliveries)


def erased(deliveries: list[dict[str, Any]]) -> bool:
    return all(d["content"] == {} for d in deliveries)


async def notifier_ticket(settings: Settings, ticket_id: str) -> dict[str, Any] | None:
    client: AsyncMongoClient = AsyncMongoClient(settings.mongodb_url)
    try:
        return await client[settings.mongodb_database]["tickets"].find_one({"_id": ticket_id})
    finally:
        await client.close()


def erasure(created: Envelope) -> Envelope[CustomerErased]:
    payload = CustomerErased(customer_id=f"C-{created.ticket_id}", emails=(created.payload.requester.email,))
    return new_envelope(payload, source="intake")


async def test_deliveries_to_an_erased_customer_keep_their_outcome_and_lose_the_person(
    notifier_settings: Settings, run_notifier
) -> None:
    # One partition: a later event on `customers` is handled after an earlier one (a barrier).
    settings = notifier_settings.model_copy(update={"kafka_topic_partitions": 1})
    ticket_id, bystander_ticket = new_ticket_id(), new_ticket_id()
    created, bystander = ticket_created(ticket_id), ticket_created(bystander_ticket)
    agent = new_slack_user_id()

    async with run_notifier(settings) as notifier:
        for event in (created, ticket_assigned(ticket_id, agent), bystander):
            await notifier.tickets.publish(event)
        before = await deliveries_when(notifier, ticket_id, settled(2))
        await deliveries_when(notifier, bystander_ticket, settled(1))

        request = erasure(created)
        await notifier.tickets.publish(request)
        after = await deliveries_when(notifier, ticket_id, erased)

        # The same event again, then the bystander's erasure behind it: once that is applied,
        # the replay has been handled.
        await notifier.tickets.publish(request)
        await notifier.tickets.publish(erasure(bystander))
        await deliveries_when(notifier, bystander_ticket, erased)
        # ticket.created of the erased requester again (a redelivery): nothing is sent again.
        await notifier.tickets.publish(created)
        await notifier.tickets.publish(erasure(bystander))  # replayed too: the barrier again
        await notifier.tickets.publish(ticket_created(barrier_ticket := new_ticket_id()))
        await deliveries_when(notifier, barrier_ticket, settled(1))
        replayed = await notifier.deliveries(ticket_id)
        requester_copy = await notifier_ticket(settings, ticket_id)

    by_channel = {d["channel"]: d for d in after}
    mail, slack = by_channel["email"], by_channel["slack"]
    assert mail["recipient"] == ERASED and mail["content"] == {}
    assert slack["recipient"] == agent and slack["content"] == {}  # the agent's message named the requester
    outcome = sorted((d["channel"], d["status"], d["attempts"]) for d in before)
    assert sorted((d["channel"], d["status"], d["attempts"]) for d in after) == outcome
    old_key = next(d["delivery_key"] for d in before if d["channel"] == "email")
    assert mail["delivery_key"] == erased_key(old_key, created.payload.requester.email)
    assert created.payload.requester.email not in str(after)
    assert replayed == after
    assert requester_copy is not None and requester_copy["requester"] == {"email": ERASED, "name": None}
