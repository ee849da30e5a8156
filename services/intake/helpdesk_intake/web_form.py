"""The web-form/API channel: what a customer may submit, and the `ticket.created` it becomes.

Pure: validation and normalisation only; publishing is `intake.TicketIntake`'s job.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from helpdesk_events import Channel, Priority, Requester, TicketCreated, TicketStatus
from helpdesk_intake.language import LanguageTag
from helpdesk_intake.message_body import MessageBody

if TYPE_CHECKING:  # the store stays out of this pure module
    from helpdesk_intake.customers import KnownCustomer

MAX_SUBJECT_CHARS = 998  # the longest header line RFC 5322 allows: subjects must survive the email channel
MAX_TAGS = 50
MAX_TAG_CHARS = 64
MAX_NAME_CHARS = 256

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUBJECT_CHARS)]


class RequesterForm(BaseModel):
    """The customer asking, as the form names them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(description="Where replies go.", examples=["ada@example.com"])
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS, examples=["Ada Lovelace"])

    @field_validator("name")
    @classmethod
    def _blank_name_is_unknown(cls, name: str | None) -> str | None:
        return name or None


class NewTicketForm(BaseModel):
    """Body of `POST /v1/tickets`. Unknown fields are refused so a misspelt field is not silently lost."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject = Field(examples=["The printer is on fire"])
    body: MessageBody = Field(description="The customer's first message.", examples=["Smoke everywhere."])
    requester: RequesterForm
    tags: list[str] = Field(
        default_factory=list,
        description=f"Lowercased, deduplicated; at most {MAX_TAGS}, each at most {MAX_TAG_CHARS} characters.",
        examples=[["billing", "vip"]],
    )
    language: LanguageTag | None = Field(
        default=None,
        description="The customer's language, a BCP 47 tag such as fr or pt-BR (stored lower case), for triage.",
        examples=["fr"],
    )

    @field_validator("tags")
    @classmethod
    def _normalise_tags(cls, tags: list[str]) -> list[str]:
        normalised = list(dict.fromkeys(tag.strip().lower() for tag in tags))  # dedupe, keep first order
        if "" in normalised:
            raise ValueError("tags must not be blank")
        too_long = [tag for tag in normalised if len(tag) > MAX_TAG_CHARS]
        if too_long:
            raise ValueError(f"tags must be at most {MAX_TAG_CHARS} characters: {too_long[0][:80]!r}")
        if len(normalised) > MAX_TAGS:
            raise ValueError(f"at most {MAX_TAGS} distinct tags, got {len(normalised)}")
        return normalised


class TicketAccepted(BaseModel):
    """Answer to `POST /v1/tickets`: Kafka holds the ticket; it is visible at `Location`."""

    ticket_id: str
    status: TicketStatus = TicketStatus.NEW


def ticket_created(
    form: NewTicketForm, *, message_id: str, customer: KnownCustomer | None = None
) -> TicketCreated:
    """The event a submitted form becomes: channel web, priority normal until triage decides;
    `customer`: the requester's customer record (its id and tier), when intake keeps them."""
    return TicketCreated(
        subject=form.subject,
        body=form.body,
        requester=Requester(email=str(form.requester.email), name=form.requester.name),
        channel=Channel.WEB,
        message_id=message_id,
        priority=Priority.NORMAL,
        tags=tuple(form.tags),
        customer_id=customer.customer_id if customer is not None else None,
        customer_tier=customer.tier if customer is not None else None,
        language=form.language,
    )


def new_ticket_id() -> str:
    return str(uuid.uuid4())


def new_message_id() -> str:
    return str(uuid.uuid4())
