"""What intake accepts as a customer's language and support tier, the facts triage rules match on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from helpdesk_intake.channels.chat_message import ChatMessageIn, chat_message
from helpdesk_intake.channels.social_message import SocialEventIn, social_message
from helpdesk_intake.customer_api import NewTier
from helpdesk_intake.customers import normalize_tier
from helpdesk_intake.language import content_language, language_tag


@pytest.mark.parametrize(
    ("given", "tag"),
    [
        ("fr", "fr"),
        ("EN", "en"),
        ("pt-BR", "pt-br"),
        ("yue-HK", "yue-hk"),
        ("sr-Latn-RS", "sr-latn-rs"),
        (" de ", "de"),
    ],
)
def test_a_bcp47_tag_is_kept_lower_case(given: str, tag: str) -> None:
    assert language_tag(given) == tag


@pytest.mark.parametrize(
    "given", ["", "f", "fran", "fr_FR", "fr-", "fr--ca", "fr-c", "fr-abcdefghi", "1a", "fr ca", "*", "x" * 65]
)
def test_what_is_no_bcp47_tag_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="BCP 47"):
        language_tag(given)


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-DE, en", "de-de"),
        ("FR", "fr"),
        (" en-GB ,fr", "en-gb"),
        (None, None),
        ("", None),
        ("not a language!", None),  # a malformed header is ignored, never a reason to refuse the mail
        ("(comment) fr", None),
    ],
)
def test_an_email_s_language_is_the_first_tag_of_content_language(header: str | None, language: str | None) -> None:
    assert content_language(header) == language


@pytest.mark.parametrize(("given", "tier"), [("gold", "gold"), (" Platinum ", "platinum"), ("tier_2-b", "tier_2-b")])
def test_a_tier_label_is_kept_lower_case(given: str, tier: str) -> None:
    assert normalize_tier(given) == tier
    assert NewTier.model_validate({"tier": given}).tier == tier


@pytest.mark.parametrize("given", ["", "  ", "gold star", "gold!", "gold/silver", "x" * 33])
def test_a_tier_that_is_no_label_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="tier label"):
        normalize_tier(given)
    with pytest.raises(ValidationError):
        NewTier.model_validate({"tier": given})


def test_null_removes_the_tier_and_the_field_is_required() -> None:
    assert NewTier.model_validate({"tier": None}).tier is None
    with pytest.raises(ValidationError):
        NewTier.model_validate({})
    with pytest.raises(ValidationError):
        NewTier.model_validate({"tier": "gold", "since": "today"})


def test_chat_and_social_messages_may_name_their_language() -> None:
    chat = {"conversation_id": "c1", "message_id": "m1", "text": "Bonjour"}
    assert chat_message(ChatMessageIn.model_validate({**chat, "language": "fr-FR"})).language == "fr-fr"
    assert chat_message(ChatMessageIn.model_validate(chat)).language is None
    with pytest.raises(ValidationError):
        ChatMessageIn.model_validate({**chat, "language": "French"})
    social = {"delivery_id": "d1", "kind": "mention", "sender": {"handle": "@ada"}, "text": "Olá"}
    assert social_message("twitter", SocialEventIn.model_validate({**social, "language": "pt-BR"})).language == "pt-br"
    assert social_message("twitter", SocialEventIn.model_validate(social)).language is None
