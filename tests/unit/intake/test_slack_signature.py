"""Slack's v0 request signature, checked against Slack's own documented example."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_intake.slack_signature import BadSlackSignature, SlackSignatureVerifier

# https://api.slack.com/authentication/verifying-requests-from-slack, the worked example, byte for byte
# (its token is xyzz0WbapA4vBCDEFasx0q6G and its command /webhook-collect: with any other bytes the
# documented signature does not come out).
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def verifier_at(now: float) -> SlackSignatureVerifier:
    return SlackSignatureVerifier(SECRET, clock=lambda: now)


def test_slacks_documented_example_is_signed_as_documented() -> None:
    verifier = verifier_at(int(TIMESTAMP) + 10)
    assert verifier.signature(TIMESTAMP, BODY) == SIGNATURE
    verifier.verify(TIMESTAMP, SIGNATURE, BODY)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(BadSlackSignature, match="does not match"):
        verifier_at(int(TIMESTAMP)).verify(TIMESTAMP, SIGNATURE, BODY.replace(b"text=", b"text=hi"))


def test_another_secret_does_not_verify() -> None:
    other = SlackSignatureVerifier("not-the-secret", clock=lambda: int(TIMESTAMP))
    with pytest.raises(BadSlackSignature, match="does not match"):
        other.verify(TIMESTAMP, SIGNATURE, BODY)


@pytest.mark.parametrize("offset", [-301, 301, 86_400])
def test_a_timestamp_more_than_five_minutes_from_now_is_refused(offset: int) -> None:
    # The signature is right: what is refused is its age (a replay, or a wrong clock).
    with pytest.raises(BadSlackSignature, match="more than 300 s from now"):
        verifier_at(int(TIMESTAMP) + offset).verify(TIMESTAMP, SIGNATURE, BODY)


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_five_minutes_either_way_is_still_fresh(offset: int) -> None:
    verifier_at(int(TIMESTAMP) + offset).verify(TIMESTAMP, SIGNATURE, BODY)


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, SIGNATURE, "X-Slack-Request-Timestamp is missing"),
        (TIMESTAMP, None, "X-Slack-Signature is missing"),
        ("", SIGNATURE, "X-Slack-Request-Timestamp is missing"),
        ("yesterday", SIGNATURE, "not a Unix time"),
        (TIMESTAMP, "v0=" + "0" * 64, "does not match"),
        (TIMESTAMP, SIGNATURE.removeprefix("v0="), "does not match"),
    ],
)
def test_missing_or_malformed_headers_are_refused_with_a_reason(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    with pytest.raises(BadSlackSignature, match=reason):
        verifier_at(int(TIMESTAMP)).verify(timestamp, signature, BODY)


@given(st.text(max_size=40) | st.none(), st.text(max_size=80) | st.none(), st.binary(max_size=256))
def test_any_headers_and_body_verify_or_are_refused_never_a_crash(
    timestamp: str | None, signature: str | None, body: bytes
) -> None:
    try:
        verifier_at(int(TIMESTAMP)).verify(timestamp, signature, body)
    except BadSlackSignature:
        pass
    else:
        raise AssertionError("an unsigned request verified")
