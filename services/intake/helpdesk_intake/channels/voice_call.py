"""A telephony provider's call webhook (form fields, Twilio-style names) and the message it becomes.

Pure. A call that ended, or a voicemail, becomes a customer message: threaded into the caller's
ticket when that ticket is not closed and was updated within the window, else a new ticket.
Non-final statuses (ringing, in progress) are not messages yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal

from helpdesk_events import Channel, TicketStatus
from helpdesk_intake.channels.channel_message import ChannelMessage, SenderIdentity, ThreadRef
from helpdesk_intake.ticket_view import TicketView

CallEvent = Literal["call_ended", "voicemail"]
EVENTS: frozenset[str] = frozenset({"call_ended", "voicemail"})
FINAL_STATUSES = frozenset({"completed", "no-answer", "busy", "failed", "canceled"})
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_PHONE = re.compile(r"\+?[0-9]{3,15}")


class BadCall(ValueError):
    """The form is not a usable call report; the message says why (HTTP 422)."""


@dataclass(frozen=True)
class CallReport:
    call_sid: str
    caller: str  # normalized when it is a phone number, else as sent ("anonymous")
    event: CallEvent | None  # None: not final yet, nothing to record
    duration_seconds: int | None
    transcript: str | None
    recording_url: str | None
    caller_name: str | None


def normalize_phone(raw: str) -> str | None:
    """E.164-ish: punctuation dropped, a 00 international prefix made "+"; None when not a number."""
    number = _PHONE_PUNCTUATION.sub("", raw.strip())
    if number.startswith("00"):
        number = "+" + number[2:]
    return number if _PHONE.fullmatch(number) else None


def parse_call(form: Mapping[str, str]) -> CallReport:
    call_sid = (form.get("CallSid") or "").strip()
    caller = (form.get("From") or "").strip()
    if not call_sid:
        raise BadCall("CallSid is missing")
    if not caller:
        raise BadCall("From is missing")
    transcript = (form.get("TranscriptionText") or "").strip() or None
    recording_url = (form.get("RecordingUrl") or "").strip() or None
    return CallReport(
        call_sid=call_sid,
        caller=normalize_phone(caller) or caller,
        event=_event(form, has_voicemail=bool(transcript or recording_url)),
        duration_seconds=_duration(form.get("CallDuration") or form.get("RecordingDuration")),
        transcript=transcript,
        recording_url=recording_url,
        caller_name=(form.get("CallerName") or "").strip() or None,
    )


def _event(form: Mapping[str, str], *, has_voicemail: bool) -> CallEvent | None:
    event = (form.get("Event") or form.get("EventType") or "").strip().lower()
    if event:
        if event not in EVENTS:
            raise BadCall(f"Event must be one of {', '.join(sorted(EVENTS))}, not {event!r}")
        return event  # type: ignore[return-value]
    status = (form.get("CallStatus") or "").strip().lower()
    if not status:
        raise BadCall("CallStatus or Event is required")
    if status not in FINAL_STATUSES:
        return None
    return "voicemail" if has_voicemail else "call_ended"


def _duration(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        seconds = int(raw.strip())
    except ValueError:
        raise BadCall(f"CallDuration must be a whole number of seconds, not {raw!r}") from None
    if seconds < 0:
        raise BadCall("CallDuration must not be negative")
    return seconds


def continues_caller_ticket(ticket: TicketView, *, now: datetime, window: timedelta) -> bool:
    """The caller's ticket takes the call when it is not closed and was updated within the window."""
    return ticket.status is not TicketStatus.CLOSED and now - ticket.updated_at <= window


def call_message(call: CallReport, *, now: datetime, window: timedelta) -> ChannelMessage:
    assert call.event is not None, "only a final call is a message"
    what = "Voicemail" if call.event == "voicemail" else "Call"
    is_number = normalize_phone(call.caller) is not None
    threads = (
        (ThreadRef(f"voice-caller:{call.caller}", partial(continues_caller_ticket, now=now, window=window)),)
        if is_number
        else ()  # "anonymous" is not one person
    )
    return ChannelMessage(
        channel=Channel.VOICE,
        external_id=f"{call.call_sid}:{call.event}",
        sender=SenderIdentity("phone", call.caller, call.caller_name),
        subject=f"{what} from {call.caller}",
        text=call_text(call),
        threads=threads,
    )


def call_text(call: CallReport) -> str:
    lines = [call.transcript or "(no transcript)", ""]
    if call.duration_seconds is not None:
        minutes, seconds = divmod(call.duration_seconds, 60)
        lines.append(f"Duration: {minutes} min {seconds} s" if minutes else f"Duration: {seconds} s")
    if call.recording_url:
        lines.append(f"Recording: {call.recording_url}")
    return "\n".join(lines).rstrip()
