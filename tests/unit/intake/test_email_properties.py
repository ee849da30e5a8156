"""Property tests: no bytes crash the email parser, no header values crash the auto-reply detector."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk_intake.channels.auto_reply import auto_reply_reason
from helpdesk_intake.channels.email_message import EmailParseError, InboundEmail, parse_email
from helpdesk_intake.channels.html_text import html_to_text

SAMPLES = [path.read_bytes() for path in sorted((Path(__file__).parent / "emails").glob("*.eml"))]
HEADER_NAMES = st.sampled_from(
    [
        "Auto-Submitted",
        "Precedence",
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
        "Content-Type",
        "Return-Path",
        "From",
        "Subject",
        "X-Helpdesk-Loop",
    ]
) | st.text(max_size=30)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(raw: bytes) -> None:
    try:
        mail = parse_email(raw)
    except EmailParseError:
        return
    assert isinstance(mail, InboundEmail) and "@" in mail.from_address
    auto_reply_reason(mail.headers, sender=mail.from_address)


@PROPERTY
@given(st.binary(max_size=2000))
def test_random_bytes_parse_or_are_refused(raw: bytes) -> None:
    parses_or_refuses(raw)


@PROPERTY
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_samples_parse_or_are_refused(raw: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(raw)))
    parses_or_refuses(raw[:cut])


@PROPERTY
@given(st.sampled_from(SAMPLES), st.data())
def test_corrupted_samples_parse_or_are_refused(raw: bytes, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    garbage = data.draw(st.binary(min_size=1, max_size=40))
    parses_or_refuses(raw[:position] + garbage + raw[position + len(garbage) :])


@PROPERTY
@given(
    st.lists(st.tuples(HEADER_NAMES, st.text(max_size=200)), max_size=12),
    st.text(max_size=80),
    st.lists(st.text(max_size=40), max_size=3),
)
def test_random_header_values_never_crash_the_detector(
    headers: list[tuple[str, str]], sender: str, own: list[str]
) -> None:
    reason = auto_reply_reason(headers, sender=sender, own_addresses=own)
    assert reason is None or isinstance(reason, str)


@PROPERTY
@given(st.lists(st.tuples(HEADER_NAMES, st.text(max_size=200)), max_size=8), st.text(max_size=300))
def test_random_headers_in_a_real_message_never_crash_the_parser(
    headers: list[tuple[str, str]], body: str
) -> None:
    lines = [f"{name}: {value}" for name, value in headers if name and ":" not in name]
    raw = ("\r\n".join(["From: a@example.com", *lines]) + "\r\n\r\n" + body).encode("utf-8", errors="replace")
    parses_or_refuses(raw)


@PROPERTY
@given(st.text(max_size=500))
def test_any_html_becomes_text(html: str) -> None:
    assert isinstance(html_to_text(html), str)
