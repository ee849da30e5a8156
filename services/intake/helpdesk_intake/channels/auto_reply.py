"""Mail that must never open a ticket nor be answered: auto-replies, bounces, lists and loops.

Pure: decides on header strings only (RFC 3834 `Auto-Submitted`, the de facto `Precedence`,
`X-Autoreply`, `X-Autorespond`, `X-Auto-Response-Suppress`, RFC 3464 delivery status reports,
mailer-daemon senders) and on mail loops. A loop is mail the platform sent itself coming back:
its own sender address, or the `X-Helpdesk-Loop` header (LOOP_HEADER) that the notifier can
stamp on everything it sends; the `X-Helpdesk-Ticket-Id` header the notifier already sets
counts too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from email.utils import parseaddr

LOOP_HEADER = "X-Helpdesk-Loop"
OWN_HEADERS = frozenset({LOOP_HEADER.lower(), "x-helpdesk-ticket-id"})

_ROBOT_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "list"})
_SUPPRESSED_RESPONSES = frozenset({"all", "oof", "autoreply"})
_ROBOT_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "maildaemon"})
_TOKEN = re.compile(r"[\s;,]+")


def auto_reply_reason(
    headers: Iterable[tuple[str, str]], *, sender: str, own_addresses: Collection[str] = ()
) -> str | None:
    """Why this mail must be ignored, or None for a mail from a person."""
    seen: dict[str, list[str]] = {}
    for name, value in headers:
        seen.setdefault(str(name).strip().lower(), []).append(str(value).strip())

    own = {address.strip().lower() for address in own_addresses if address.strip()}
    sender_address = sender.strip().lower()
    if sender_address and sender_address in own:
        return f"mail loop: sent by our own address {sender_address}"
    for header in sorted(OWN_HEADERS):
        if header in seen:
            return f"mail loop: carries our {header} header"

    for value in seen.get("auto-submitted", ()):
        keyword = _first_token(value)
        if keyword and keyword != "no":
            return f"auto-submitted: {keyword}"
    for value in seen.get("precedence", ()):
        if _first_token(value) in _ROBOT_PRECEDENCE:
            return f"precedence: {_first_token(value)}"
    for header in ("x-autoreply", "x-autorespond"):
        values = seen.get(header, ())
        if any(value.lower() not in ("no", "false", "0") for value in values):
            return f"{header} header"
    for value in seen.get("x-auto-response-suppress", ()):
        suppressed = {token for token in _TOKEN.split(value.lower()) if token} & _SUPPRESSED_RESPONSES
        if suppressed:
            return f"x-auto-response-suppress: {min(suppressed)}"

    for value in seen.get("content-type", ()):
        if _is_delivery_status(value):
            return "delivery status notification"

    local_part = sender_address.split("@", 1)[0]
    if local_part in _ROBOT_SENDERS:
        return f"robot sender: {local_part}"
    return_path = seen.get("return-path", ())
    if return_path and all(
        parseaddr(value)[1] == "" and "<>" in value.replace(" ", "") for value in return_path
    ):
        return "null return path (a bounce)"
    return None


def own_address(email_from: str) -> str:
    """The bare address of `EMAIL_FROM` ("Support <support@x>" -> "support@x")."""
    return parseaddr(email_from)[1].lower()


def _first_token(value: str) -> str:
    tokens = [token for token in _TOKEN.split(value.lower()) if token]
    return tokens[0] if tokens else ""


def _is_delivery_status(content_type: str) -> bool:
    lowered = content_type.lower().replace(" ", "")
    media_type = lowered.split(";", 1)[0]
    if media_type in ("message/delivery-status", "message/global-delivery-status"):
        return True
    return media_type == "multipart/report" and "report-type=delivery-status" in lowered.replace('"', "")
