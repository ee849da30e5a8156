"""HTTP API: the deliveries the notifier made, for a ticket or overall."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from helpdesk_events import DeliveryChannel
from helpdesk_notifier.deliveries import Delivery, DeliveryKind, DeliveryStatus
from helpdesk_notifier.delivery_store import MongoDeliveryStore


class DeliveryView(BaseModel):
    delivery_key: str = Field(description="`{event_id}:{channel}:{recipient}`, the no-double-send key.")
    ticket_id: str
    channel: DeliveryChannel
    kind: DeliveryKind
    recipient: str = Field(description="Slack user id or email address (`agent:<id>` when skipped).")
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    reason: str | None = Field(description="Why a delivery was skipped.")
    external_id: str | None = Field(description="Slack message ts, or the email's Message-ID.")
    trigger_event_id: uuid.UUID
    trigger_event_type: str
    content: dict[str, Any] = Field(description="What was (or would be) sent: subject, text, html or blocks.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryView:
        return cls(
            delivery_key=delivery.key,
            ticket_id=delivery.ticket_id,
            channel=delivery.channel,
            kind=delivery.kind,
            recipient=delivery.recipient,
            status=delivery.status,
            attempts=delivery.attempts,
            last_error=delivery.last_error,
            reason=delivery.reason,
            external_id=delivery.external_id,
            trigger_event_id=delivery.trigger_event_id,
            trigger_event_type=delivery.trigger_event_type,
            content=delivery.content,
            created_at=delivery.created_at,
            updated_at=delivery.updated_at,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryView]


def get_delivery_store(request: Request) -> MongoDeliveryStore:
    return request.app.state.deliveries


DeliveryStoreDep = Annotated[MongoDeliveryStore, Depends(get_delivery_store)]

router = APIRouter(prefix="/v1", tags=["deliveries"])


@router.get("/deliveries", operation_id="list_deliveries", response_model=DeliveryList)
async def list_deliveries(
    store: DeliveryStoreDep,
    ticket_id: Annotated[str | None, Query(description="Only this ticket's deliveries.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many, newest first.")] = 100,
) -> DeliveryList:
    deliveries = await store.list(ticket_id=ticket_id, limit=limit)
    return DeliveryList(deliveries=[DeliveryView.of(delivery) for delivery in deliveries])
