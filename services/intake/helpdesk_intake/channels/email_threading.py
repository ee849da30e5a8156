"""Which ticket a mail belongs to: by the Message-IDs it answers, else by `[#<ticket id>]` in its subject.

Pure. The Message-IDs the platform issued (its acknowledgements) and received (earlier customer
mail) are looked up by the caller; this module orders the candidates and reads the subject.
`In-Reply-To` wins, then `References` from the newest back (RFC 5322 lists them oldest first),
then the subject reference, which survives clients that drop the threading headers.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from helpdesk_intake.channels.email_message import InboundEmail

_SUBJECT_REFERENCE = re.compile(
    r"\[#([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\]"
)


def answered_message_ids(mail: InboundEmail) -> list[str]:
    """The Message-IDs this mail answers, most telling first, without repeats."""
    ordered = ([mail.in_reply_to] if mail.in_reply_to else []) + list(reversed(mail.references))
    return list(dict.fromkeys(ordered))


def subject_ticket_reference(subject: str) -> str | None:
    """The ticket id in a `[#<ticket id>]` tag (the notifier's form), canonical lowercase."""
    match = _SUBJECT_REFERENCE.search(subject)
    return str(uuid.UUID(match.group(1))) if match else None


def thread_by_message_id(mail: InboundEmail, known: Mapping[str, str]) -> str | None:
    """The ticket of the first answered Message-ID that `known` (Message-ID -> ticket id) holds."""
    for message_id in answered_message_ids(mail):
        if message_id in known:
            return known[message_id]
    return None
