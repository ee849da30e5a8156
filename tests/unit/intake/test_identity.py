"""Identity normalization: one person, one key, whatever way they typed it."""

from __future__ import annotations

import pytest

from helpdesk_intake.identity import (
    Identity,
    IdentityKind,
    InvalidIdentity,
    email_identity,
    identity_of,
    phone_identity,
    social_identity,
)


def test_an_email_is_lowercased_and_trimmed() -> None:
    assert email_identity("  Ada.Lovelace@Example.COM ").key == "email:ada.lovelace@example.com"


@pytest.mark.parametrize(
    "number",
    ["+44 1632 960983", "+44 (1632) 960-983", "0044 1632 960983", "441632960983", "+44.1632.960.983"],
)
def test_phone_numbers_become_plus_and_digits(number: str) -> None:
    assert phone_identity(number).key == "phone:+441632960983"


@pytest.mark.parametrize("number", ["", "+", "12345", "+44 1632 CALL ME", "+1234567890123456"])
def test_what_is_not_an_international_number_is_refused(number: str) -> None:
    with pytest.raises(InvalidIdentity):
        phone_identity(number)


def test_a_social_handle_is_network_and_handle_lowercased_without_at() -> None:
    assert social_identity(" Twitter ", "@Ada_L").key == "social:twitter:ada_l"


@pytest.mark.parametrize(("network", "handle"), [("", "ada"), ("twitter", "@"), ("a:b", "ada")])
def test_a_social_handle_needs_a_network_and_a_handle(network: str, handle: str) -> None:
    with pytest.raises(InvalidIdentity):
        social_identity(network, handle)


def test_channels_hand_over_kind_and_value() -> None:
    assert identity_of("EMAIL", "Ada@Example.com") == email_identity("ada@example.com")
    assert identity_of("phone", "+44 1632 960983") == phone_identity("+441632960983")
    assert identity_of("social", "Instagram:@Ada") == social_identity("instagram", "ada")
    for kind, value in [("fax", "123"), ("social", "ada"), ("email", "nobody")]:
        with pytest.raises(InvalidIdentity):
            identity_of(kind, value)


def test_a_key_reads_back_as_its_identity() -> None:
    assert Identity.from_key("social:twitter:ada") == Identity(IdentityKind.SOCIAL, "twitter:ada")
    assert Identity.from_key("phone:+441632960983") == phone_identity("+441632960983")
