"""HTTP API of customer records: read one, attach an identity to it, set its tier, and request its erasure."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import PyMongoError

from helpdesk_intake.action_http import _unavailable, failure
from helpdesk_intake.customer_erasure import CustomerErasure, ErasureNotRecorded
from helpdesk_intake.customers import CustomerDirectory, CustomerView, IdentityTaken, normalize_tier
from helpdesk_intake.identity import IdentityKind, InvalidIdentity, identity_of


def get_customers(request: Request) -> CustomerDirectory:
    return request.app.state.customers


def get_erasure(request: Request) -> CustomerErasure:
    return request.app.state.customer_erasure


CustomersDep = Annotated[CustomerDirectory, Depends(get_customers)]
ErasureDep = Annotated[CustomerErasure, Depends(get_erasure)]


class ErasureRequested(BaseModel):
    """Kafka holds `customer.erased`; every service erases the customer's data as it consumes it."""

    customer_id: str
    status: Literal["erasure_requested"] = "erasure_requested"


router = APIRouter(prefix="/v1", tags=["customers"])


@router.get(
    "/customers/{customer_id}",
    operation_id="get_customer",
    responses={
        404: failure("No such customer (never known, or erased)."),
        503: failure("Store unavailable."),
    },
)
async def get_customer(customer_id: str, customers: CustomersDep) -> CustomerView:
    """A customer: their identities across channels, name, number of tickets and support tier."""
    try:
        customer = await customers.get(customer_id)
    except PyMongoError as error:
        raise _unavailable("the customer store is unavailable; retry later") from error
    if customer is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer with id {customer_id!r}")
    return customer


class NewIdentity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: IdentityKind
    value: str = Field(
        min_length=1, max_length=320, description="An email, an international phone number, or network:handle."
    )


@router.post(
    "/customers/{customer_id}/identities",
    operation_id="add_customer_identity",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The identity already was this customer's."},
        404: failure("No such customer (never known, or erased)."),
        409: failure("The identity belongs to another customer; customers are not merged."),
        503: failure("Store unavailable."),
    },
)
async def add_customer_identity(
    customer_id: str, new: NewIdentity, customers: CustomersDep, response: Response
) -> CustomerView:
    """Attach an email, phone number or social handle to a customer, so that later tickets from it
    count for them (a caller who is also an emailer). Past tickets keep the customer they had."""
    try:
        identity = identity_of(new.kind, new.value)
    except InvalidIdentity as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(error)) from error
    try:
        if await customers.get(customer_id) is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer with id {customer_id!r}")
        if not await customers.add_identity(customer_id, identity):
            response.status_code = status.HTTP_200_OK
        customer = await customers.get(customer_id)
    except IdentityTaken as error:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"{identity.key} belongs to another customer; customers are not merged",
        ) from error
    except PyMongoError as error:
        raise _unavailable("the customer store is unavailable; retry later") from error
    if customer is None:  # erased meanwhile
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer with id {customer_id!r}")
    return customer


class NewTier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str | None = Field(
        max_length=100,
        description="Support tier label, 1-32 of a-z, 0-9, '_' or '-' (stored lower case); null removes it.",
        examples=["gold"],
    )

    @field_validator("tier")
    @classmethod
    def _label(cls, tier: str | None) -> str | None:
        return normalize_tier(tier) if tier is not None else None


@router.put(
    "/customers/{customer_id}/tier",
    operation_id="set_customer_tier",
    responses={
        404: failure("No such customer (never known, or erased)."),
        503: failure("Store unavailable."),
    },
)
async def set_customer_tier(customer_id: str, new: NewTier, customers: CustomersDep) -> CustomerView:
    """Set the customer's support tier (gold, platinum...). Tickets they open from now on carry it in
    `ticket.created` as `customer_tier`, for triage rules; tickets already open keep what they had.
    Erasing the customer erases the tier with them."""
    try:
        known = await customers.set_tier(customer_id, new.tier)
        customer = await customers.get(customer_id) if known else None
    except PyMongoError as error:
        raise _unavailable("the customer store is unavailable; retry later") from error
    if customer is None:  # never known, or erased (meanwhile)
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer with id {customer_id!r}")
    return customer


@router.delete(
    "/customers/{customer_id}",
    operation_id="erase_customer",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "Kafka holds customer.erased; services erase the customer's data as they consume it."
        },
        404: failure("No such customer (never known, or erased already)."),
        503: failure(
            "Kafka did not acknowledge, or the store is unavailable: retry after Retry-After seconds."
        ),
    },
)
async def erase_customer(customer_id: str, erasure: ErasureDep) -> ErasureRequested:
    """Erase a customer's personal data everywhere (right to erasure). Answers once Kafka has
    acknowledged `customer.erased`."""
    try:
        known = await erasure.request(customer_id)
    except PyMongoError as error:
        raise _unavailable("the customer store is unavailable; retry later") from error
    except ErasureNotRecorded as error:
        raise _unavailable(f"the erasure was not requested ({error}); retry later") from error
    if not known:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no customer with id {customer_id!r}")
    return ErasureRequested(customer_id=customer_id)
