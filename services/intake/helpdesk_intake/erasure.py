"""What erasing a customer changes in one of their tickets: pure, so replays land on the same document.

The ticket stays (agents' work, counts, SLA history); what the customer wrote or is goes:
requester email and name, the subject, the bodies, authors and attachment names of the customer's
messages. Agents' messages and internal notes stay as they were.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from helpdesk_events import AuthorKind, CustomerErased
from helpdesk_intake.identity import Identity, IdentityKind

ERASED = "erased"
ERASED_TEXT = "[erased]"

Document = dict[str, Any]


def erase_ticket(ticket: Document) -> Document:
    """The `$set` of `ticket` without the customer's personal data. Every customer message goes, also
    one a colleague in Cc wrote: it is about this customer's case, and may quote them."""
    return {
        "requester": {"email": ERASED, "name": None},
        "subject": ERASED_TEXT,
        "messages": [_erase_message(message) for message in ticket.get("messages", [])],
        "erased": True,
    }


def _erase_message(message: Document) -> Document:
    if message.get("author_kind") != AuthorKind.CUSTOMER.value:
        return message
    erased = {**message, "author_id": None, "body": ERASED_TEXT}
    if message.get("attachments"):
        erased["attachments"] = [{**attachment, "filename": None} for attachment in message["attachments"]]
    return erased


def erasure_event(customer_id: str, identity_keys: Collection[str]) -> CustomerErased:
    """The event announcing the erasure, from the customer's identity keys."""
    identities = [Identity.from_key(key) for key in identity_keys]
    values = {kind: tuple(sorted(i.value for i in identities if i.kind is kind)) for kind in IdentityKind}
    return CustomerErased(
        customer_id=customer_id,
        emails=values[IdentityKind.EMAIL],
        phones=values[IdentityKind.PHONE],
        handles=values[IdentityKind.SOCIAL],
    )
