"""Customer records: the right to erasure, announced once so every service can act on its own data."""

from __future__ import annotations

from pydantic import Field

from helpdesk_events.envelope import EventPayload
from helpdesk_events.topics import Topic


class CustomerErased(EventPayload):
    """Every service removes or anonymizes this customer's personal data in its own stores.

    It names the identity keys so services that never knew the customer id (they keep the
    requester's email) can still find the data. The event itself is personal data: it stays on
    Kafka only until the topic's retention (KAFKA_TOPIC_RETENTION_MS) expires.
    """

    event_type = "customer.erased"
    topic = Topic.CUSTOMERS
    summary = (
        "A customer asked to be forgotten: services erase or anonymize their data "
        "(carries the identity keys, personal data until retention expires)."
    )

    customer_id: str = Field(description="The customer record in intake.")
    emails: tuple[str, ...] = Field(default=(), description="Normalized email addresses (lowercase).")
    phones: tuple[str, ...] = Field(default=(), description="Normalized phone numbers (+<digits>).")
    handles: tuple[str, ...] = Field(default=(), description="Social handles as network:handle, lowercase.")

    def partition_key(self) -> str | None:
        return self.customer_id
