"""What the notifier tells customers by email: four kinds, per locale, and the MIME message around them."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta, timezone
from email import message_from_bytes, policy
from html.parser import HTMLParser
from importlib.resources import files
from typing import Any

import pytest

from helpdesk_events import RatingLink
from helpdesk_notifier.email_messages import (
    KINDS,
    LOCALES,
    OutgoingEmail,
    build_email,
    choose_locale,
    compose_acknowledgement,
    compose_agent_reply,
    compose_status_change,
    compose_survey_invitation,
    long_date,
)
from helpdesk_notifier.ticket_view import TicketView

MESSAGE_ID = "<171234.1.42@helpdesk.test>"
SENDER = "Support <support@helpdesk.test>"
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
CUSTOMER_MAIL = "<abc@mail.example.com>"
CUSTOMER_FOLLOW_UP = "<def@mail.example.com>"


def ticket(**changes: object) -> TicketView:
    fields: dict[str, object] = {
        "ticket_id": "T-42",
        "subject": "Printer on fire",
        "requester_email": "ada@example.com",
        "requester_name": "Ada Lovelace",
        "channel": "web",
        "status": "open",
        "language": "en",
        "team": "hardware",
    }
    return TicketView(**{**fields, **changes})  # type: ignore[arg-type]


def acknowledgement(view: TicketView, **extra: Any) -> OutgoingEmail:
    return compose_acknowledgement(view, message_id=MESSAGE_ID, sender=SENDER, **extra)


def agent_reply(
    view: TicketView, body: str = "Have you tried turning it off?", **extra: Any
) -> OutgoingEmail:
    return compose_agent_reply(
        view, body=body, agent_name="Grace Hopper", message_id=MESSAGE_ID, sender=SENDER, **extra
    )


def survey(view: TicketView, kind: str = "csat", **extra: Any) -> OutgoingEmail:
    return compose_survey_invitation(
        view, survey_url="https://feedback.helpdesk.test/s/abc?x=1&y=2", kind=kind,
        message_id=MESSAGE_ID, sender=SENDER, **extra,
    )  # fmt: skip


def solved(view: TicketView, **extra: Any) -> OutgoingEmail:
    email = compose_status_change(view, to_status="solved", message_id=MESSAGE_ID, sender=SENDER, **extra)
    assert email is not None
    return email


COMPOSERS = {
    "acknowledgement": acknowledgement,
    "agent_reply": agent_reply,
    "survey_invitation": survey,
    "status_change": solved,
}

# What each kind's subject says after the reference, per locale (the customer's subject follows).
SUBJECTS = {
    ("en", "acknowledgement"): "[#T-42] We received your request: Printer on fire",
    ("en", "agent_reply"): "[#T-42] Re: Printer on fire",
    ("en", "survey_invitation"): "[#T-42] How did we do? Printer on fire",
    ("en", "status_change"): "[#T-42] Your request has been solved: Printer on fire",
    ("fr", "acknowledgement"): "[#T-42] Nous avons bien reçu votre demande : Printer on fire",
    ("fr", "agent_reply"): "[#T-42] Re: Printer on fire",
    ("fr", "survey_invitation"): "[#T-42] Votre avis nous intéresse : Printer on fire",
    ("fr", "status_change"): "[#T-42] Votre demande a été résolue : Printer on fire",
}
GREETINGS = {"en": "Hello Ada Lovelace,", "fr": "Bonjour Ada Lovelace,", "de": "Guten Tag Ada Lovelace,"}


# ---- every kind, every locale ------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_written_in_the_customers_language_with_the_ticket_reference(
    kind: str, locale: str
) -> None:
    email = COMPOSERS[kind](ticket(language=locale))

    assert email.subject == SUBJECTS[(locale, kind)]
    assert email.to == "Ada Lovelace <ada@example.com>"
    assert email.message_id == MESSAGE_ID
    assert email.sender == SENDER
    assert email.text.startswith(GREETINGS[locale])
    assert "T-42" in email.text
    if kind != "agent_reply":  # a reply is the agent's words; its subject line names the request
        assert "Printer on fire" in email.text
    assert f'<html lang="{locale}">' in email.html
    assert f"<p>{GREETINGS[locale]}</p>" in email.html
    message = message_from_bytes(
        build_email(email, ticket_id="T-42", date=NOW).as_bytes(), policy=policy.default
    )
    assert message["Subject"] == SUBJECTS[(locale, kind)]  # accents survive the header encoding
    assert message.get_body(("plain",)).get_content() == email.text


def test_every_locale_has_all_three_parts_of_every_kind() -> None:
    templates = files("helpdesk_notifier").joinpath("templates/email")
    assert {"en", "fr", "de"} <= LOCALES
    for locale in LOCALES:
        for kind in KINDS:
            for part in ("subject", "txt", "html"):
                assert templates.joinpath(locale, f"{kind}.{part}.j2").is_file(), (locale, kind, part)


def test_german_is_welcome_too() -> None:
    email = acknowledgement(ticket(language="de-AT"))

    assert email.subject == "[#T-42] Wir haben Ihre Anfrage erhalten: Printer on fire"
    assert email.text.startswith("Guten Tag Ada Lovelace,")


@pytest.mark.parametrize(
    ("language", "locale"),
    [("en", "en"), ("fr", "fr"), ("fr-ca", "fr"), ("fr-CA", "fr"), ("fr_CA", "fr"), ("de", "de"),
     ("pt-br", "en"), ("pt", "en"), ("zh-hant-tw", "en"), (None, "en"), ("", "en")],
)  # fmt: skip
def test_the_locale_is_the_exact_tag_then_its_primary_language_then_english(
    language: str | None, locale: str
) -> None:
    assert choose_locale(language) == locale


def test_a_customer_writing_canadian_french_gets_french_and_brazilian_portuguese_gets_english() -> None:
    assert acknowledgement(ticket(language="fr-ca")).subject == SUBJECTS[("fr", "acknowledgement")]
    assert acknowledgement(ticket(language="pt-br")).subject == SUBJECTS[("en", "acknowledgement")]


# ---- the acknowledgement keeps saying what it said ----------------------------------------------


def test_acknowledgement_says_what_it_always_said() -> None:
    email = acknowledgement(ticket(), signature="Hardware Support")

    assert email.subject == "[#T-42] We received your request: Printer on fire"
    assert email.text == (
        "Hello Ada Lovelace,\n\n"
        "Thank you for contacting us. We have received your request and opened ticket #T-42:\n\n"
        "    Printer on fire\n\n"
        "We will get back to you as soon as we can. To add anything, reply to this email and keep "
        "[#T-42] in the subject line.\n\n"
        "Hardware Support\n"
    )
    assert "<p>Hardware Support</p>" in email.html


def test_a_requester_without_a_name_is_greeted_and_addressed_plainly() -> None:
    email = acknowledgement(ticket(requester_email="bob@example.com", requester_name=None))

    assert email.to == "bob@example.com"
    assert email.text.startswith("Hello there,")
    assert acknowledgement(ticket(requester_name=None, language="fr")).text.startswith("Bonjour,")


def test_a_ticket_without_a_requester_address_cannot_be_written_to() -> None:
    with pytest.raises(ValueError, match="no requester email"):
        acknowledgement(ticket(requester_email=None))


# ---- escaping ----------------------------------------------------------------------------------


def test_the_html_part_escapes_what_the_customer_wrote_and_the_text_part_shows_it_as_written() -> None:
    view = ticket(subject="<script>alert(1)</script>", requester_name="A & B")

    for kind, compose in COMPOSERS.items():
        email = compose(view) if kind != "agent_reply" else agent_reply(view, body=view.subject)
        assert "<script>" not in email.html, kind
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.html, kind
        assert "A &amp; B," in email.html, kind
        assert "<script>alert(1)</script>" in email.text, kind
        assert "A & B," in email.text, kind
        assert "&amp;" not in email.text and "&lt;" not in email.text, kind


def test_the_agents_reply_is_escaped_in_html_with_its_paragraphs_and_line_breaks_kept() -> None:
    body = "Try <b>this</b> & that:\n1. unplug it\n2. wait\n\nRegards"
    email = agent_reply(ticket(), body=body)

    assert (
        "<p>Try &lt;b&gt;this&lt;/b&gt; &amp; that:<br>\n1. unplug it<br>\n2. wait</p>\n<p>Regards</p>"
        in email.html
    )
    assert body in email.text
    assert "Grace Hopper" in email.text
    assert "<p>Grace Hopper</p>" in email.html
    hostile_agent = compose_agent_reply(
        ticket(), body="ok", agent_name="<img src=x onerror=alert(1)>", message_id=MESSAGE_ID, sender=SENDER
    )
    assert "<img" not in hostile_agent.html
    assert "<img src=x onerror=alert(1)>" in hostile_agent.text


def test_the_survey_link_is_kept_whole_in_text_and_attribute_escaped_in_html() -> None:
    email = survey(ticket())

    assert "https://feedback.helpdesk.test/s/abc?x=1&y=2" in email.text
    assert 'href="https://feedback.helpdesk.test/s/abc?x=1&amp;y=2"' in email.html


def test_a_survey_link_that_is_not_a_web_link_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        compose_survey_invitation(
            ticket(), survey_url="javascript:alert(1)", kind="csat", message_id=MESSAGE_ID, sender=SENDER
        )


@pytest.mark.parametrize(
    ("kind", "question"),
    [
        ("csat", "How satisfied are you"),
        ("nps", "How likely are you to recommend us"),
        ("ces", "How easy was it"),
    ],
)
def test_the_survey_asks_the_question_of_its_kind(kind: str, question: str) -> None:
    email = survey(ticket(), kind=kind)

    assert question in email.text
    assert question in email.html


def test_an_unknown_survey_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="survey kind"):
        survey(ticket(), kind="stars")


# ---- subjects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_subject_with_line_breaks_becomes_one_header_line(kind: str) -> None:
    email = COMPOSERS[kind](ticket(subject="Broken\r\nBcc: everyone@example.com\n\tagain"))

    assert "\r" not in email.subject and "\n" not in email.subject
    assert email.subject.endswith("Broken Bcc: everyone@example.com again")
    message = build_email(email, ticket_id="T-42", date=NOW)
    assert message["Bcc"] is None
    assert b"\nBcc:" not in message.as_bytes()


def test_an_empty_subject_still_says_something() -> None:
    assert acknowledgement(ticket(subject=" \n ")).subject == "[#T-42] We received your request: (no subject)"


# ---- the MIME message: headers and threading -----------------------------------------------------


def test_email_has_text_and_html_parts_and_the_platform_headers() -> None:
    content = acknowledgement(ticket())
    message = build_email(content, ticket_id="T-42", date=NOW)

    assert message["Message-ID"] == MESSAGE_ID
    assert message["Subject"] == "[#T-42] We received your request: Printer on fire"
    assert message["From"] == SENDER
    assert message["To"] == "Ada Lovelace <ada@example.com>"
    assert message["Date"] == "Mon, 23 Nov 2026 17:00:00 +0000"
    assert message["X-Helpdesk-Ticket-Id"] == "T-42"
    assert message["In-Reply-To"] is None  # a web ticket has no mail to answer
    assert message["References"] is None
    assert message["Reply-To"] is None
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("plain",)).get_content() == content.text
    assert message.get_body(("html",)).get_content() == content.html


def test_only_the_acknowledgement_is_marked_as_an_automatic_reply() -> None:
    marks = {
        kind: build_email(compose(ticket()), ticket_id="T-42", date=NOW)["Auto-Submitted"]
        for kind, compose in COMPOSERS.items()
    }

    assert marks == {
        "acknowledgement": "auto-replied",
        "agent_reply": None,
        "survey_invitation": None,
        "status_change": None,
    }


def test_a_ticket_opened_by_email_gets_an_acknowledgement_threaded_to_the_customer_mail() -> None:
    view = ticket(channel="email", customer_message_ids=(CUSTOMER_MAIL, CUSTOMER_FOLLOW_UP))
    message = build_email(acknowledgement(view), ticket_id="T-42", date=NOW)

    assert message["In-Reply-To"] == CUSTOMER_MAIL  # the mail that opened the ticket
    assert message["References"] == CUSTOMER_MAIL


def test_a_web_ticket_with_a_form_message_id_is_not_threaded() -> None:
    view = ticket(channel="web", customer_message_ids=("m-1",))

    assert acknowledgement(view).in_reply_to is None
    assert agent_reply(view).in_reply_to is None
    assert agent_reply(view).references == ()


def test_an_agent_reply_answers_the_customers_latest_mail_and_references_all_of_them() -> None:
    view = ticket(
        channel="email", customer_message_ids=(CUSTOMER_MAIL, "not-a-message-id", CUSTOMER_FOLLOW_UP)
    )
    email = agent_reply(view)
    message = build_email(email, ticket_id="T-42", date=NOW)

    assert email.in_reply_to == CUSTOMER_FOLLOW_UP
    assert email.references == (CUSTOMER_MAIL, CUSTOMER_FOLLOW_UP)
    assert message["In-Reply-To"] == CUSTOMER_FOLLOW_UP
    assert message["References"] == f"{CUSTOMER_MAIL} {CUSTOMER_FOLLOW_UP}"


@pytest.mark.parametrize("kind", KINDS)
def test_from_and_reply_to_are_the_teams(kind: str) -> None:
    billing = COMPOSERS[kind](ticket(team="billing"), reply_to="billing@example.com")
    message = build_email(
        replace(billing, sender="Billing <billing@example.com>"), ticket_id="T-42", date=NOW
    )

    assert billing.reply_to == "billing@example.com"
    assert message["From"] == "Billing <billing@example.com>"
    assert message["Reply-To"] == "billing@example.com"


def test_the_composers_take_the_sender_they_are_given() -> None:
    email = compose_acknowledgement(
        ticket(),
        message_id=MESSAGE_ID,
        sender="Billing <billing@example.com>",
        reply_to="billing@example.com",
    )
    message = build_email(email, ticket_id="T-42", date=NOW)

    assert (message["From"], message["Reply-To"]) == ("Billing <billing@example.com>", "billing@example.com")


# ---- status changes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [("new", "open"), ("open", "pending"), ("pending", "open"), ("open", "on_hold"), ("on_hold", "open"),
     ("solved", "closed"), ("open", "closed"), ("solved", "solved")],
)  # fmt: skip
def test_status_changes_the_customer_need_not_know_send_nothing(before: str, after: str) -> None:
    assert (
        compose_status_change(ticket(status=before), to_status=after, message_id=MESSAGE_ID, sender=SENDER)
        is None
    )


def test_a_solved_ticket_is_announced() -> None:
    email = solved(ticket(status="pending"))

    assert email.subject == "[#T-42] Your request has been solved: Printer on fire"
    assert "We have solved your request #T-42" in email.text


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_ticket_opened_again_after_solved_is_announced(locale: str) -> None:
    email = compose_status_change(
        ticket(status="solved", language=locale), to_status="open", message_id=MESSAGE_ID, sender=SENDER
    )

    assert email is not None
    assert (
        email.subject
        == {
            "en": "[#T-42] Your request has been reopened: Printer on fire",
            "fr": "[#T-42] Votre demande a été rouverte : Printer on fire",
        }[locale]
    )


def test_the_previous_status_can_be_given_when_the_view_already_moved_on() -> None:
    already_open = ticket(status="open")

    reopened = compose_status_change(
        already_open, to_status="open", from_status="solved", message_id=MESSAGE_ID, sender=SENDER
    )
    assert reopened is not None and "reopened" in reopened.subject
    assert (
        compose_status_change(
            already_open, to_status="open", from_status="pending", message_id=MESSAGE_ID, sender=SENDER
        )
        is None
    )


# ---- the delivery record -----------------------------------------------------------------------


def test_outgoing_email_round_trips_through_the_delivery_record() -> None:
    email = agent_reply(ticket(channel="email", customer_message_ids=(CUSTOMER_MAIL, CUSTOMER_FOLLOW_UP)))
    record = asdict(email)
    record["references"] = list(record["references"])  # as it comes back from MongoDB

    assert OutgoingEmail(**record) == email


def test_a_record_written_before_outgoing_email_existed_still_sends_the_same_acknowledgement() -> None:
    old_record = {
        "to": "Ada Lovelace <ada@example.com>",
        "subject": "[#T-7] We received your request: Printer on fire",
        "text": "Hello Ada Lovelace,\n",
        "html": "<p>Hello Ada Lovelace,</p>\n",
        "message_id": MESSAGE_ID,
        "in_reply_to": CUSTOMER_MAIL,
    }
    email = OutgoingEmail.from_record(old_record, default_sender=SENDER)
    message = build_email(email, ticket_id="T-7", date=NOW)

    assert message["From"] == SENDER
    assert message["In-Reply-To"] == CUSTOMER_MAIL
    assert message["References"] == CUSTOMER_MAIL
    assert message["Auto-Submitted"] == "auto-replied"
    assert OutgoingEmail.from_record(asdict(email), default_sender="Other <o@example.com>") == email


# ---- one-click ratings in the survey invitation ------------------------------------------------

SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
SURVEY_URL = "https://feedback.helpdesk.test/s/abc?x=1&y=2"


def rating_links(kind: str) -> tuple[RatingLink, ...]:
    low, high = SCALES[kind]
    return tuple(
        RatingLink(score=score, url=f"https://feedback.helpdesk.test/r/abc?score={score}&t=tok")
        for score in range(low, high + 1)
    )


def rated_survey(view: TicketView, kind: str = "csat", **extra: Any) -> OutgoingEmail:
    return compose_survey_invitation(
        view, survey_url=SURVEY_URL, kind=kind, message_id=MESSAGE_ID, sender=SENDER,
        rating_links=extra.pop("links", rating_links(kind)), **extra,
    )  # fmt: skip


class _Links(HTMLParser):
    """Every <a> in an HTML part: its attributes and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open = {name: value or "" for name, value in attrs} | {"text": ""}
            self.links.append(self._open)
        elif tag == "br" and self._open is not None:
            self._open["text"] += " "  # a line break between words, as a screen reader hears it

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"] += data


def html_links(email: OutgoingEmail) -> dict[str, dict[str, str]]:
    parser = _Links()
    parser.feed(email.html)
    return {link["href"]: link for link in parser.links}


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("locale", ["en", "fr", "de"])
@pytest.mark.parametrize("kind", ["csat", "nps", "ces"])
def test_every_rating_link_is_in_both_parts_beside_the_survey_link(kind: str, locale: str) -> None:
    links = rating_links(kind)
    email = rated_survey(ticket(language=locale), kind=kind)

    in_html = html_links(email)
    assert set(in_html) == {link.url for link in links} | {SURVEY_URL}  # parsed: &amp; is back to &
    lines = email.text.splitlines()
    for link in links:
        assert words(in_html[link.url]["text"]).startswith(str(link.score))
        # Each score on its own line with its URL, in the order given (lowest first).
        assert any(line.strip().startswith(f"{link.score}") and line.endswith(link.url) for line in lines)
    positions = [email.text.index(link.url) for link in links]
    assert positions == sorted(positions)
    assert SURVEY_URL in email.text


@pytest.mark.parametrize(
    ("locale", "label", "confirm", "comment_link"),
    [
        ("en", "Rate 4 out of 5 (Satisfied)", "one click, then confirm", "Answer the survey, add a comment"),
        ("fr", "Noter 4 sur 5 (Satisfait)", "un clic, puis confirmez",
         "Répondre à l'enquête, ajouter un commentaire"),
        ("de", "Mit 4 von 5 bewerten (Zufrieden)", "ein Klick, dann bestätigen",
         "Umfrage beantworten, Kommentar hinzufügen"),
    ],
)  # fmt: skip
def test_each_rating_has_an_accessible_name_and_the_email_says_a_page_asks_to_confirm(
    locale: str, label: str, confirm: str, comment_link: str
) -> None:
    email = rated_survey(ticket(language=locale))
    four = html_links(email)[rating_links("csat")[3].url]

    assert four["aria-label"] == label
    assert four["title"].startswith("4 - ")
    assert confirm in email.text and confirm in email.html
    assert html_links(email)[SURVEY_URL]["text"] == comment_link
    assert comment_link in email.text


def test_csat_links_name_every_score_from_very_dissatisfied_to_very_satisfied() -> None:
    email = rated_survey(ticket())
    in_html = html_links(email)

    names = [words(in_html[link.url]["text"]) for link in rating_links("csat")]
    assert names == ["1 Very dissatisfied", "2 Dissatisfied", "3 Neutral", "4 Satisfied", "5 Very satisfied"]
    assert "5 - Very satisfied: https://feedback.helpdesk.test/r/abc?score=5&t=tok" in email.text
    assert "1 - Very dissatisfied: https://feedback.helpdesk.test/r/abc?score=1&t=tok" in email.text


@pytest.mark.parametrize(
    ("kind", "low_end", "high_end"),
    [
        ("nps", "0 = not at all likely", "10 = extremely likely"),
        # CES counts effort: 1 is the easy end, 7 the hard one (as the feedback service scores it).
        ("ces", "1 = very easy", "7 = very difficult"),
    ],
)
def test_numeric_scales_name_their_two_ends(kind: str, low_end: str, high_end: str) -> None:
    email = rated_survey(ticket(), kind=kind)
    low, high = SCALES[kind]
    in_html = html_links(email)

    assert low_end in email.html and high_end in email.html
    assert f"{low} - {low_end.split(' = ')[1]}: " in email.text
    assert f"{high} - {high_end.split(' = ')[1]}: " in email.text
    low_name = low_end.split(" = ")[1]
    assert in_html[rating_links(kind)[0].url]["aria-label"] == f"Rate {low} out of {high} ({low_name})"
    middle = rating_links(kind)[2]
    assert in_html[middle.url]["aria-label"] == f"Rate {middle.score} out of {high}"


@pytest.mark.parametrize(
    ("locale", "until"),
    [
        ("en", "The links work until 30 November 2026."),
        ("fr", "Les liens sont valables jusqu'au 30 novembre 2026."),
        ("de", "Die Links sind bis zum 30. November 2026 gültig."),
    ],
)
def test_the_email_says_until_when_the_links_work(locale: str, until: str) -> None:
    email = rated_survey(ticket(language=locale), expires_at=datetime(2026, 11, 30, 18, 0, tzinfo=UTC))

    assert until in email.text
    assert until in email.html


def test_links_that_die_at_midnight_are_said_to_work_until_the_day_before() -> None:
    paris = timezone(timedelta(hours=1))
    # Midnight UTC on 1 December, given in Paris time: the last full day is 30 November.
    email = rated_survey(ticket(), expires_at=datetime(2026, 12, 1, 1, 0, tzinfo=paris))
    assert "until 30 November 2026" in email.text


def test_without_an_expiry_nothing_is_said_about_one() -> None:
    email = rated_survey(ticket())
    assert "work until" not in email.text and "work until" not in email.html


@pytest.mark.parametrize(
    ("day", "locale", "written"),
    [
        (date(2026, 12, 1), "en", "1 December 2026"),
        (date(2026, 12, 1), "fr", "1er décembre 2026"),
        (date(2026, 8, 15), "fr", "15 août 2026"),
        (date(2026, 3, 2), "de", "2. März 2026"),
        (date(2026, 3, 2), "pt", "2026-03-02"),
    ],
)
def test_long_dates_are_written_as_each_locale_writes_them(day: date, locale: str, written: str) -> None:
    assert long_date(day, locale) == written


def test_the_survey_s_language_is_used_when_the_ticket_told_none() -> None:
    assert rated_survey(ticket(language=None), language="de-CH").text.startswith("Guten Tag")
    assert rated_survey(ticket(language="fr"), language="de").text.startswith("Bonjour")
    assert rated_survey(ticket(language=None), language=None).text.startswith("Hello")


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,x", "//evil.example.com/r", "ftp://x/y"]
)
def test_a_rating_link_that_is_not_a_web_link_is_refused(url: str) -> None:
    links = (*rating_links("csat")[:4], RatingLink(score=5, url=url))
    with pytest.raises(ValueError, match="score 5 must be an http"):
        rated_survey(ticket(), links=links)


@pytest.mark.parametrize(("kind", "score"), [("csat", 0), ("csat", 6), ("ces", 8), ("ces", 0)])
def test_a_rating_link_off_the_kind_s_scale_is_refused(kind: str, score: int) -> None:
    with pytest.raises(ValueError, match="off the"):
        rated_survey(ticket(), kind=kind, links=(RatingLink(score=score, url="https://x.test/r"),))


def test_the_rating_links_are_escaped_in_html_and_kept_whole_in_text() -> None:
    email = rated_survey(ticket())
    url = rating_links("csat")[0].url

    assert url in email.text
    assert 'href="https://feedback.helpdesk.test/r/abc?score=1&amp;t=tok"' in email.html
    hostile = RatingLink(score=1, url='https://x.test/r?a="><script>alert(1)</script>')
    hostile_email = rated_survey(ticket(), links=(hostile,))
    assert "<script>" not in hostile_email.html
    assert hostile.url in html_links(hostile_email)


def test_without_rating_links_the_invitation_is_the_single_survey_link() -> None:
    email = rated_survey(ticket(), links=())

    assert set(html_links(email)) == {SURVEY_URL}
    assert "Choose your rating" not in email.text
