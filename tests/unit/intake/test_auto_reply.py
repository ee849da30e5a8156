"""What must never open a ticket: auto-replies, bounces, list mail and loops."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk_intake.channels.auto_reply import LOOP_HEADER, auto_reply_reason, own_address
from helpdesk_intake.channels.email_message import parse_email

EMAILS = Path(__file__).parent / "emails"
OWN = ["support@helpdesk.local"]


def reason_for(headers: list[tuple[str, str]], sender: str = "ada@example.com") -> str | None:
    return auto_reply_reason(headers, sender=sender, own_addresses=OWN)


@pytest.mark.parametrize(
    "name",
    [
        "multipart_alternative.eml",
        "gmail_reply.eml",
        "outlook_reply.eml",
        "html_only.eml",
        "shift_jis_base64.eml",
    ],
)
def test_mail_from_people_passes(name: str) -> None:
    mail = parse_email((EMAILS / name).read_bytes())
    assert auto_reply_reason(mail.headers, sender=mail.from_address, own_addresses=OWN) is None


def test_the_out_of_office_sample_is_an_auto_reply() -> None:
    mail = parse_email((EMAILS / "out_of_office.eml").read_bytes())
    assert (
        auto_reply_reason(mail.headers, sender=mail.from_address, own_addresses=OWN)
        == "auto-submitted: auto-replied"
    )


def test_the_dsn_sample_is_a_bounce() -> None:
    mail = parse_email((EMAILS / "dsn_bounce.eml").read_bytes())
    headers = [(name, value) for name, value in mail.headers if name.lower() != "auto-submitted"]
    assert (
        auto_reply_reason(headers, sender=mail.from_address, own_addresses=OWN)
        == "delivery status notification"
    )


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("Auto-Submitted", "auto-generated")], "auto-submitted: auto-generated"),
        ([("AUTO-SUBMITTED", "Auto-Replied; owner-email=x@y")], "auto-submitted: auto-replied"),
        ([("Precedence", "bulk")], "precedence: bulk"),
        ([("Precedence", "Junk")], "precedence: junk"),
        ([("Precedence", "auto_reply")], "precedence: auto_reply"),
        ([("Precedence", "list")], "precedence: list"),
        ([("X-Autoreply", "yes")], "x-autoreply header"),
        ([("X-Autorespond", "Out of office")], "x-autorespond header"),
        ([("X-Auto-Response-Suppress", "DR, OOF")], "x-auto-response-suppress: oof"),
        ([("X-Auto-Response-Suppress", "All")], "x-auto-response-suppress: all"),
        (
            [("Content-Type", 'multipart/report; report-type="delivery-status"; boundary=x')],
            "delivery status notification",
        ),
        ([("Content-Type", "message/delivery-status")], "delivery status notification"),
        ([("Return-Path", "<>")], "null return path (a bounce)"),
        ([(LOOP_HEADER, "1")], "mail loop: carries our x-helpdesk-loop header"),
        ([("X-Helpdesk-Ticket-Id", "t-1")], "mail loop: carries our x-helpdesk-ticket-id header"),
    ],
)
def test_robot_headers(headers: list[tuple[str, str]], expected: str) -> None:
    assert reason_for([("Subject", "hi"), *headers]) == expected


@pytest.mark.parametrize(
    "headers",
    [
        [("Auto-Submitted", "no")],
        [("Precedence", "first-class")],
        [("X-Auto-Response-Suppress", "DR, RN, NRN")],  # Outlook's own mail suppresses receipts only
        [("Content-Type", "multipart/report; report-type=disposition-notification")],
        [("Return-Path", "<ada@example.com>")],
    ],
)
def test_headers_that_do_not_make_a_robot(headers: list[tuple[str, str]]) -> None:
    assert reason_for(headers) is None


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "postmaster@example.org"])
def test_robot_senders(sender: str) -> None:
    assert reason_for([], sender=sender) == f"robot sender: {sender.split('@')[0].lower()}"


def test_our_own_address_is_a_loop() -> None:
    assert own_address("Support <Support@Helpdesk.local>") == "support@helpdesk.local"
    assert (
        reason_for([], sender="SUPPORT@helpdesk.local")
        == "mail loop: sent by our own address support@helpdesk.local"
    )
