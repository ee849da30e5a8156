"""What the notifier tells customers by email, and the MIME message that carries it. Pure.

Wording lives in Jinja2 templates, one folder per locale under `templates/email/<locale>/`
(`<kind>.subject.j2`, `<kind>.txt.j2`, `<kind>.html.j2`), shipped as package data so a wheel and an
editable install find them alike. The HTML part is autoescaped, since subjects, names and agent replies
are typed by people; the plain-text part is shown as written, so it is not escaped.

The survey invitation can carry one-click ratings (`SurveySent.rating_links`): one link per score, each
opening the survey page with that score chosen for the customer to confirm. Every link lands in an href,
so each must be a web link (http or https), and each score must be on the survey kind's scale.

Every subject starts with the ticket reference `[#<ticket_id>]` (added here, not by the templates, so
no translation can lose it): a customer's reply carries it back and intake threads it into the ticket.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from markupsafe import Markup, escape

from helpdesk_events import RatingLink
from helpdesk_notifier.ticket_view import TicketView

DEFAULT_LOCALE = "en"
ACKNOWLEDGEMENT = "acknowledgement"
AGENT_REPLY = "agent_reply"
SURVEY_INVITATION = "survey_invitation"
STATUS_CHANGE = "status_change"
KINDS = (ACKNOWLEDGEMENT, AGENT_REPLY, SURVEY_INVITATION, STATUS_CHANGE)
# Lowest and highest score of each survey kind, as the feedback service rates them (CES: high = more effort).
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
SURVEY_KINDS = frozenset(SURVEY_SCALES)
# RFC 3834: the acknowledgement answers the customer's mail automatically; their robots must not answer it.
AUTO_REPLIED = "auto-replied"

_TEMPLATES = "templates/email"


@dataclass(frozen=True, kw_only=True)
class OutgoingEmail:
    """One email's content, kept in the delivery record (`dataclasses.asdict`) so a re-send is the same mail.

    `references` may come back from the record as a list; it is kept as a tuple.
    """

    to: str
    subject: str
    text: str
    html: str
    message_id: str
    sender: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto_submitted: str | None = None  # the Auto-Submitted header's value, when the mail is automatic

    def __post_init__(self) -> None:
        object.__setattr__(self, "references", tuple(self.references))

    @classmethod
    def from_record(cls, content: dict[str, Any], *, default_sender: str) -> OutgoingEmail:
        """Read a delivery record's content, also one written before this class existed: those were all
        acknowledgements (AcknowledgementEmail: no sender, no references, no Auto-Submitted field)."""
        if "sender" in content:
            return cls(**content)
        in_reply_to = content.get("in_reply_to")
        return cls(
            **content,
            sender=default_sender,
            references=(in_reply_to,) if in_reply_to else (),
            auto_submitted=AUTO_REPLIED,
        )


def ticket_reference(ticket_id: str) -> str:
    """The tag in subjects that lets a reply find its ticket."""
    return f"[#{ticket_id}]"


def choose_locale(language: str | None) -> str:
    """The templates' locale for a BCP 47 language tag: exact match, then its primary subtag, then English."""
    if not language:
        return DEFAULT_LOCALE
    tag = language.strip().lower().replace("_", "-")
    if tag in LOCALES:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in LOCALES else DEFAULT_LOCALE


# ---- the four customer emails ------------------------------------------------------------------


def compose_acknowledgement(
    view: TicketView, *, message_id: str, sender: str, reply_to: str | None = None, signature: str = "Support"
) -> OutgoingEmail:
    """We received your request. A ticket opened by email is answered in that mail's thread."""
    opening = _valid_message_ids(view.customer_message_ids)[:1] if view.channel == "email" else []
    return _compose(
        ACKNOWLEDGEMENT,
        view,
        {},
        message_id=message_id,
        sender=sender,
        reply_to=reply_to,
        signature=signature,
        in_reply_to=opening[0] if opening else None,
        references=tuple(opening),
        auto_submitted=AUTO_REPLIED,
    )


def compose_agent_reply(
    view: TicketView,
    *,
    body: str,
    agent_name: str,
    message_id: str,
    sender: str,
    reply_to: str | None = None,
    signature: str = "Support",
) -> OutgoingEmail:
    """An agent's public reply relayed to the customer, threaded under the customer's latest mail."""
    threaded = _valid_message_ids(view.customer_message_ids)
    return _compose(
        AGENT_REPLY,
        view,
        {"body": body, "agent_name": agent_name},
        message_id=message_id,
        sender=sender,
        reply_to=reply_to,
        signature=signature,
        in_reply_to=threaded[-1] if threaded else None,
        references=tuple(threaded),
    )


def compose_survey_invitation(
    view: TicketView,
    *,
    survey_url: str,
    kind: str,
    message_id: str,
    sender: str,
    reply_to: str | None = None,
    signature: str = "Support",
    rating_links: Sequence[RatingLink] = (),
    expires_at: datetime | None = None,
    language: str | None = None,
) -> OutgoingEmail:
    """Ask the customer about a solved ticket; `kind` is the survey's (csat, nps or ces).

    With `rating_links` (lowest score first), the customer can rate in one click, then confirm on the
    page; `survey_url` stays for those who want to add a comment. `expires_at` is when the links stop
    working. `language` (the survey's) picks the locale when the ticket told none.
    """
    kind = str(kind)
    if kind not in SURVEY_KINDS:
        raise ValueError(f"unknown survey kind {kind!r}; expected one of {sorted(SURVEY_KINDS)}")
    _require_web_link("survey_url", survey_url)
    low, high = SURVEY_SCALES[kind]
    for link in rating_links:
        if not low <= link.score <= high:
            raise ValueError(f"rating link for score {link.score} is off the {kind} scale {low} to {high}")
        _require_web_link(f"the rating link for score {link.score}", link.url)
    if not view.language and language:
        view = replace(view, language=language)
    return _compose(
        SURVEY_INVITATION,
        view,
        {
            "survey_url": survey_url,
            "survey_kind": kind,
            "rating_links": [{"score": link.score, "url": link.url} for link in rating_links],
            "scale": {"low": low, "high": high},
            "links_work_until": _last_day(expires_at) if expires_at is not None else None,
        },
        message_id=message_id,
        sender=sender,
        reply_to=reply_to,
        signature=signature,
    )


def compose_status_change(
    view: TicketView,
    *,
    to_status: str,
    message_id: str,
    sender: str,
    reply_to: str | None = None,
    signature: str = "Support",
    from_status: str | None = None,
) -> OutgoingEmail | None:
    """Tell the customer their ticket was solved or reopened (open again after solved); None for any other
    move (new, open, pending, on hold, closed), which the customer need not hear about.

    `from_status` defaults to `view.status`, i.e. the view as it was before the change.
    """
    before = str(from_status if from_status is not None else view.status)
    after = str(to_status)
    if after == "solved" and before != "solved":
        change = "solved"
    elif after == "open" and before == "solved":
        change = "reopened"
    else:
        return None
    return _compose(
        STATUS_CHANGE,
        view,
        {"change": change},
        message_id=message_id,
        sender=sender,
        reply_to=reply_to,
        signature=signature,
    )


# ---- the MIME message --------------------------------------------------------------------------


def build_email(content: OutgoingEmail, *, ticket_id: str, date: datetime) -> EmailMessage:
    """The MIME message: text/plain and text/html alternatives under the platform's Message-ID."""
    message = EmailMessage()
    message["From"] = content.sender
    message["To"] = content.to
    if content.reply_to:
        message["Reply-To"] = content.reply_to
    message["Subject"] = content.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = content.message_id
    if content.in_reply_to:
        message["In-Reply-To"] = content.in_reply_to
    if content.references:
        message["References"] = " ".join(content.references)
    if content.auto_submitted:
        message["Auto-Submitted"] = content.auto_submitted
    message["X-Helpdesk-Ticket-Id"] = ticket_id
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message


# ---- rendering ---------------------------------------------------------------------------------


def _compose(
    kind: str,
    view: TicketView,
    values: dict[str, Any],
    *,
    message_id: str,
    sender: str,
    reply_to: str | None,
    signature: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    auto_submitted: str | None = None,
) -> OutgoingEmail:
    if not view.requester_email:
        raise ValueError(f"ticket {view.ticket_id} has no requester email address to write to")
    locale = choose_locale(view.language)
    reference = ticket_reference(view.ticket_id)
    context = {
        "locale": locale,
        "ticket_id": view.ticket_id,
        "reference": reference,
        "subject": one_line(view.subject),
        "customer_name": view.requester_name,
        "signature": signature,
        **values,
    }
    subject = one_line(_render(locale, kind, "subject", context))
    return OutgoingEmail(
        to=formataddr((view.requester_name or "", view.requester_email)),
        subject=f"{reference} {subject}",
        text=_render(locale, kind, "txt", context),
        html=_render(locale, kind, "html", context),
        message_id=message_id,
        sender=sender,
        reply_to=reply_to,
        in_reply_to=in_reply_to,
        references=references,
        auto_submitted=auto_submitted,
    )


def _require_web_link(what: str, url: str) -> None:
    # It lands in an href: anything but a web link (javascript:, data:) is refused.
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{what} must be an http(s) link, got {url!r}")


def _last_day(expires_at: datetime) -> date:
    """The last UTC day the links work on: a deadline at midnight ends the day before, so the email never
    promises a day on which the links are already dead."""
    moment = expires_at.replace(tzinfo=UTC) if expires_at.tzinfo is None else expires_at.astimezone(UTC)
    return (moment - timedelta(microseconds=1)).date()


# Month names per locale, for dates written out in emails; a locale not listed gets ISO 8601 (2026-11-30).
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
}  # fmt: skip


def long_date(day: date, locale: str) -> str:
    """`30 November 2026`, `1er décembre 2026`, `30. November 2026`: a date as the locale writes it."""
    months = _MONTHS.get(locale)
    if months is None:
        return day.isoformat()
    month = months[day.month - 1]
    if locale == "de":
        return f"{day.day}. {month} {day.year}"
    if locale == "fr" and day.day == 1:
        return f"1er {month} {day.year}"  # French writes the first of the month as an ordinal
    return f"{day.day} {month} {day.year}"


@pass_context
def _long_date_filter(context: Any, day: date) -> str:
    return long_date(day, context["locale"])


def one_line(value: str) -> str:
    """Customers type line breaks in subjects; in a header one would break it (or add one: `\\r\\nBcc:`)."""
    return re.sub(r"\s+", " ", value).strip() or "(no subject)"


def is_message_id(value: str) -> bool:
    """A mail's Message-ID (`<local@domain>`): only those thread; a web form's "message id" is no mail's."""
    return value.startswith("<") and value.endswith(">") and "@" in value


def _valid_message_ids(values: tuple[str, ...] | list[str]) -> list[str]:
    return [value for value in values if is_message_id(value)]


def _paragraphs(value: str) -> Markup:
    """Text someone typed, as HTML: escaped, blank lines make paragraphs, single line breaks stay breaks."""
    blocks = [block for block in re.split(r"\n\s*\n", value.replace("\r\n", "\n").strip()) if block.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(escape(line) for line in block.split("\n")))
        for block in blocks
    )


def _render(locale: str, kind: str, part: str, context: dict[str, Any]) -> str:
    return _environment.get_template(f"{locale}/{kind}.{part}.j2").render(context)


def _autoescape(template_name: str | None) -> bool:
    return template_name is not None and template_name.endswith(".html.j2")


_environment = Environment(
    loader=PackageLoader("helpdesk_notifier", _TEMPLATES),
    autoescape=_autoescape,
    undefined=StrictUndefined,  # a misspelt variable fails the tests, not silently a customer's mail
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_environment.filters["paragraphs"] = _paragraphs
_environment.filters["long_date"] = _long_date_filter

# A locale is a folder of templates (names starting with "_" hold shared layouts).
LOCALES = frozenset(
    entry.name
    for entry in files("helpdesk_notifier").joinpath(_TEMPLATES).iterdir()
    if entry.is_dir() and not entry.name.startswith("_")
)
