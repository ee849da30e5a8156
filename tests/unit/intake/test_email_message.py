"""Parsing real RFC 822 samples (tests/unit/intake/emails/*.eml) into InboundEmail."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpdesk_intake.channels.email_message import (
    EmailParseError,
    message_ids,
    normalize_message_id,
    parse_email,
)

EMAILS = Path(__file__).parent / "emails"


def sample(name: str) -> bytes:
    return (EMAILS / name).read_bytes()


def test_multipart_alternative_prefers_the_plain_text_and_decodes_quoted_printable() -> None:
    mail = parse_email(sample("multipart_alternative.eml"))
    assert mail.message_id == "<CAF1234.alt@mail.example.com>"
    assert (mail.from_address, mail.from_name) == ("ada@example.com", "Ada Lovelace")
    assert mail.to == ("support@helpdesk.local",)
    assert mail.subject == "Printer on fire"
    assert mail.date == datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert mail.text == (
        "Hello,\n\nThe printer on floor 2 is on fire. Smoke everywhere \u2014 please help quickly.\n\nAda"
    )
    assert mail.attachments == ()  # the HTML alternative is the same message, not an attachment
    assert mail.in_reply_to is None and mail.references == ()


def test_nested_multipart_records_every_attachment_without_keeping_it() -> None:
    mail = parse_email(sample("nested_mixed_attachments.eml"))
    assert mail.text == "The invoice charges us twice. Scan and screenshot attached."
    assert mail.cc == ("boss@example.org",)
    by_type = {attachment.content_type: attachment for attachment in mail.attachments}
    assert set(by_type) == {"image/png", "application/pdf", "text/plain"}
    assert by_type["application/pdf"].filename == "invoice-4711.pdf"
    assert by_type["application/pdf"].size == 2009  # decoded from base64
    assert by_type["image/png"].size == 1032
    assert by_type["text/plain"].filename == "notes.txt"
    assert not any(attachment.too_large for attachment in mail.attachments)


def test_attachments_over_the_limit_are_recorded_as_too_large() -> None:
    mail = parse_email(sample("nested_mixed_attachments.eml"), max_attachment_bytes=1500)
    too_large = {attachment.filename for attachment in mail.attachments if attachment.too_large}
    assert too_large == {"invoice-4711.pdf"}  # 2009 bytes; the 1032-byte png and the notes are within


def test_iso_8859_1_body_and_encoded_words_in_headers() -> None:
    mail = parse_email(sample("iso_8859_1.eml"))
    assert mail.from_name == "Andr\u00e9 M\u00fcller"
    assert mail.subject == "Facture \u00e9rron\u00e9e"
    assert "\u00c7a ne va pas." in mail.text and mail.text.endswith("Andr\u00e9")


def test_windows_1252_quoted_printable() -> None:
    mail = parse_email(sample("windows_1252_qp.eml"))
    assert mail.text == "I was charged 20 \u20ac twice \u2013 \u201cagain\u201d."
    assert mail.date is None  # no Date header is no reason to refuse a mail


def test_shift_jis_base64_body() -> None:
    mail = parse_email(sample("shift_jis_base64.eml"))
    assert "\u30d1\u30b9\u30ef\u30fc\u30c9\u306e\u518d\u8a2d\u5b9a" in mail.text  # パスワードの再設定
    assert mail.from_name == "\u5c71\u7530"  # 山田, ISO-2022-JP encoded word
    assert mail.subject.startswith("\u30d1\u30b9\u30ef\u30fc\u30c9")


def test_gmail_reply_is_trimmed_to_the_new_text() -> None:
    mail = parse_email(sample("gmail_reply.eml"))
    assert mail.text == "It is still smoking, and now the fire alarm is going off."
    assert "Thank you for contacting us" in mail.full_text and mail.quote_trimmed
    assert mail.in_reply_to == "ack-1@helpdesk.local"
    assert mail.references == ("CAF1234.alt@mail.example.com", "ack-1@helpdesk.local")


@pytest.mark.parametrize("name", ["outlook_reply.eml", "outlook_original_message.eml"])
def test_outlook_replies_are_trimmed_at_the_quoted_header_block(name: str) -> None:
    mail = parse_email(sample(name))
    assert "Hello Grace" not in mail.text and "From:" not in mail.text
    assert mail.text in ("Thanks. Please also cancel the second direct debit.\n\nGrace", "Any news?")


def test_html_only_mail_becomes_readable_text() -> None:
    mail = parse_email(sample("html_only.eml"))
    assert mail.content_type == "text/html"
    assert "track()" not in mail.text and "color: red" not in mail.text
    assert 'I cannot log in since Tuesday.\nThe reset link says "expired" & nothing else.' in mail.text
    assert "- Browser: Firefox" in mail.text


def test_a_mail_without_message_id_gets_one_from_its_bytes() -> None:
    raw = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
    first, again = parse_email(raw), parse_email(raw)
    assert first.message_id == again.message_id and first.message_id.endswith("@no-message-id.invalid>")
    assert parse_email(raw + b"more").message_id != first.message_id


def test_an_unknown_charset_is_read_as_utf8_rather_than_refused() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nHello \xc3\xa9\r\n"
    assert parse_email(raw).text == "Hello \u00e9"


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"Subject: no sender\r\n\r\nbody", "no From"),
        (b"From: not an address\r\n\r\nbody", "no usable address"),
        (b"\x00\x01\x02 binary garbage", "no"),
    ],
)
def test_unusable_input_is_an_email_parse_error(raw: bytes, why: str) -> None:
    with pytest.raises(EmailParseError, match=why):
        parse_email(raw)


def test_message_id_helpers() -> None:
    assert normalize_message_id(" <a.b@c> ") == "a.b@c"
    assert normalize_message_id("a.b@c") == "a.b@c"
    assert message_ids("<a@b>\r\n <c@d>") == ("a@b", "c@d")
    assert message_ids("bare@id") == ("bare@id",)
    assert message_ids(None) == ()
