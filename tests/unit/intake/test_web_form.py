"""What the web form accepts, and how it normalises what it accepts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from helpdesk_events import Channel, Priority
from helpdesk_intake.customers import KnownCustomer
from helpdesk_intake.web_form import MAX_SUBJECT_CHARS, NewTicketForm, ticket_created


def form(**overrides: Any) -> dict[str, Any]:
    return {
        "subject": "Printer on fire",
        "body": "Smoke everywhere.",
        "requester": {"email": "ada@example.com", "name": "Ada"},
        **overrides,
    }


def error_locations(data: dict[str, Any]) -> list[tuple]:
    with pytest.raises(ValidationError) as caught:
        NewTicketForm.model_validate(data)
    return [error["loc"] for error in caught.value.errors()]


def test_a_minimal_form_is_accepted_with_no_tags() -> None:
    accepted = NewTicketForm.model_validate(form(requester={"email": "ada@example.com"}))
    assert accepted.tags == [] and accepted.requester.name is None


def test_subject_is_stripped_and_must_keep_one_to_998_characters() -> None:
    assert NewTicketForm.model_validate(form(subject="  Printer  ")).subject == "Printer"
    assert (
        len(NewTicketForm.model_validate(form(subject="x" * MAX_SUBJECT_CHARS)).subject) == MAX_SUBJECT_CHARS
    )
    assert len(NewTicketForm.model_validate(form(subject=f"  {'x' * MAX_SUBJECT_CHARS}  ")).subject) == 998
    assert error_locations(form(subject="x" * (MAX_SUBJECT_CHARS + 1))) == [("subject",)]
    assert error_locations(form(subject="   ")) == [("subject",)]


@pytest.mark.parametrize("body", ["", " \n\t "])
def test_body_must_hold_text(body: str) -> None:
    assert error_locations(form(body=body)) == [("body",)]


def test_body_is_kept_as_written() -> None:
    assert (
        NewTicketForm.model_validate(form(body="  line one\n  line two\n")).body == "  line one\n  line two\n"
    )


@pytest.mark.parametrize("email", ["not-an-email", "ada@", "@example.com", "ada example@example.com", ""])
def test_requester_email_must_be_an_address(email: str) -> None:
    assert error_locations(form(requester={"email": email})) == [("requester", "email")]


def test_requester_name_is_stripped_and_blank_means_unknown() -> None:
    assert (
        NewTicketForm.model_validate(
            form(requester={"email": "a@example.com", "name": " Ada "})
        ).requester.name
        == "Ada"
    )
    assert (
        NewTicketForm.model_validate(form(requester={"email": "a@example.com", "name": "  "})).requester.name
        is None
    )


def test_tags_are_lowercased_stripped_and_deduplicated_in_first_seen_order() -> None:
    accepted = NewTicketForm.model_validate(form(tags=["VIP", " billing ", "vip", "Billing", "printer"]))
    assert accepted.tags == ["vip", "billing", "printer"]


def test_fifty_distinct_tags_pass_even_with_duplicates_but_fifty_one_do_not() -> None:
    fifty = [f"tag{i}" for i in range(50)]
    assert len(NewTicketForm.model_validate(form(tags=fifty + [t.upper() for t in fifty])).tags) == 50
    assert error_locations(form(tags=[*fifty, "one-more"])) == [("tags",)]


def test_a_tag_is_at_most_64_characters_and_not_blank() -> None:
    assert NewTicketForm.model_validate(form(tags=["x" * 64])).tags == ["x" * 64]
    assert error_locations(form(tags=["x" * 65])) == [("tags",)]
    assert error_locations(form(tags=["ok", "  "])) == [("tags",)]


@pytest.mark.parametrize(
    ("data", "location"),
    [
        ({"body": "b", "requester": {"email": "a@example.com"}}, ("subject",)),
        (form(subject=12), ("subject",)),
        (form(tags="vip"), ("tags",)),
        (form(requester=None), ("requester",)),
        (form(priority="urgent"), ("priority",)),  # not the customer's to choose
        (form(requester={"email": "a@example.com", "phone": "123"}), ("requester", "phone")),
    ],
)
def test_missing_mistyped_and_unknown_fields_are_refused_by_name(
    data: dict[str, Any], location: tuple
) -> None:
    assert location in error_locations(data)


def test_the_form_becomes_a_web_ticket_of_normal_priority() -> None:
    accepted = NewTicketForm.model_validate(form(subject=" Printer ", tags=["VIP"], language="pt-BR"))
    event = ticket_created(accepted, message_id="M-1", customer=KnownCustomer("C-1", tier="gold"))
    assert event.model_dump() == {
        "subject": "Printer",
        "body": "Smoke everywhere.",
        "requester": {"email": "ada@example.com", "name": "Ada"},
        "channel": Channel.WEB,
        "message_id": "M-1",
        "priority": Priority.NORMAL,
        "tags": ("vip",),
        "attachments": (),
        "customer_id": "C-1",
        "language": "pt-br",
        "customer_tier": "gold",
    }


def test_without_customer_records_or_language_the_ticket_says_neither() -> None:
    event = ticket_created(NewTicketForm.model_validate(form()), message_id="M-1")
    assert (event.customer_id, event.customer_tier, event.language) == (None, None, None)


@pytest.mark.parametrize(
    ("given", "stored"), [("fr", "fr"), ("pt-BR", "pt-br"), ("zh-Hant-TW", "zh-hant-tw"), (" DE ", "de")]
)
def test_language_is_a_bcp47_tag_stored_lower_case(given: str, stored: str) -> None:
    assert NewTicketForm.model_validate(form(language=given)).language == stored


@pytest.mark.parametrize("language", ["", "f", "french!", "fr_FR", "fr-", "-fr", "fr-toolongsubtag", "12", "fr--ca", 7])
def test_a_language_that_is_no_bcp47_tag_is_refused_by_name(language: object) -> None:
    assert error_locations(form(language=language)) == [("language",)]
