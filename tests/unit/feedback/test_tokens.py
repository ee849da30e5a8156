"""Survey tokens: round trip, tampering, expiry at the boundary, wrong secrets, rotation and unicode ids."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk_feedback.tokens import (
    MAX_TOKEN_LENGTH,
    SurveyClaim,
    TokenError,
    TokenExpired,
    TokenInvalid,
    issue,
    verify,
)

SECRET = b"current-secret-0123456789abcdef!"
OLD_SECRET = b"retired-secret-0123456789abcdef!"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


def token(secret: bytes = SECRET, **overrides: object) -> str:
    fields: dict[object, object] = {"ticket_id": "T-1042", "survey_id": "srv-77", "expires_at": EXPIRES}
    fields.update(overrides)
    return issue(secret, **fields)  # type: ignore[arg-type]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- round trip ---------------------------------------------------------------------------------------------


def test_round_trip_gives_back_ticket_survey_and_expiry() -> None:
    claim = verify(SECRET, token(), now=NOW)
    assert claim == SurveyClaim(ticket_id="T-1042", survey_id="srv-77", expires_at=EXPIRES, score=None)


@pytest.mark.parametrize("score", [0, 1, 5, 10])
def test_one_click_rating_is_carried_in_the_claim(score: int) -> None:
    assert verify(SECRET, token(score=score), now=NOW).score == score


def test_tokens_are_url_safe_base64_without_padding() -> None:
    for text in (token(), token(ticket_id="Ünïcødé-🎫", score=9)):
        payload, signature = text.split(".")
        assert set(text) <= set(ALPHABET)
        assert "=" not in text
        assert len(unb64(signature)) == 32  # SHA-256


def test_expiry_in_another_timezone_and_to_the_microsecond_round_trips() -> None:
    expires = datetime(2024, 5, 3, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    claim = verify(SECRET, token(expires_at=expires), now=NOW)
    assert claim.expires_at == expires
    assert claim.expires_at.tzinfo is UTC


@pytest.mark.parametrize("ticket_id", ["Ünïcødé", "チケット-1", "🎫🎫", "a.b.c", "with space", '"quoted"\\'])
def test_unicode_and_odd_ticket_ids_round_trip(ticket_id: str) -> None:
    claim = verify(SECRET, token(ticket_id=ticket_id, survey_id=ticket_id[::-1]), now=NOW)
    assert (claim.ticket_id, claim.survey_id) == (ticket_id, ticket_id[::-1])


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60), st.none() | st.integers(0, 10))
def test_any_ids_round_trip(ticket_id: str, survey_id: str, score: int | None) -> None:
    claim = verify(SECRET, token(ticket_id=ticket_id, survey_id=survey_id, score=score), now=NOW)
    assert claim == SurveyClaim(ticket_id, survey_id, EXPIRES, score)


def test_each_survey_and_rating_gets_its_own_token() -> None:
    tokens = {token(), token(survey_id="srv-78"), token(ticket_id="T-1043"), token(score=4), token(score=5)}
    assert len(tokens) == 5


# --- expiry -------------------------------------------------------------------------------------------------


def test_valid_until_the_last_microsecond_and_expired_from_expires_at_on() -> None:
    text = token()
    assert verify(SECRET, text, now=EXPIRES - timedelta(microseconds=1)).ticket_id == "T-1042"
    with pytest.raises(TokenExpired) as expired:
        verify(SECRET, text, now=EXPIRES)
    assert expired.value.claim.survey_id == "srv-77"
    with pytest.raises(TokenExpired):
        verify(SECRET, text, now=EXPIRES + timedelta(days=365))


def test_expiry_is_compared_across_timezones() -> None:
    text = token()
    same_instant_elsewhere = EXPIRES.astimezone(timezone(timedelta(hours=9)))
    with pytest.raises(TokenExpired):
        verify(SECRET, text, now=same_instant_elsewhere)


def test_a_token_issued_already_expired_is_refused() -> None:
    with pytest.raises(TokenExpired):
        verify(SECRET, token(expires_at=NOW - timedelta(seconds=1)), now=NOW)


def test_expired_and_invalid_are_both_token_errors() -> None:
    assert issubclass(TokenExpired, TokenError) and issubclass(TokenInvalid, TokenError)
    assert not issubclass(TokenExpired, TokenInvalid)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        token(expires_at=EXPIRES.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(SECRET, token(), now=NOW.replace(tzinfo=None))


# --- secrets and rotation -----------------------------------------------------------------------------------


def test_wrong_secret_is_invalid() -> None:
    with pytest.raises(TokenInvalid):
        verify(b"someone-elses-secret-0123456789ab", token(), now=NOW)


def test_a_forged_expired_token_is_invalid_not_expired() -> None:
    forged = token(b"attacker", expires_at=NOW - timedelta(days=1))
    with pytest.raises(TokenInvalid):
        verify(SECRET, forged, now=NOW)


def test_rotation_accepts_the_current_and_retired_secrets() -> None:
    secrets = [SECRET, OLD_SECRET]
    assert verify(secrets, token(SECRET), now=NOW).survey_id == "srv-77"
    assert verify(secrets, token(OLD_SECRET), now=NOW).survey_id == "srv-77"
    assert verify((OLD_SECRET,), token(OLD_SECRET), now=NOW).survey_id == "srv-77"


def test_a_secret_dropped_from_rotation_no_longer_verifies() -> None:
    with pytest.raises(TokenInvalid):
        verify([SECRET], token(OLD_SECRET), now=NOW)


def test_expired_is_reported_for_a_token_signed_with_a_retired_secret() -> None:
    with pytest.raises(TokenExpired):
        verify([SECRET, OLD_SECRET], token(OLD_SECRET), now=EXPIRES)


@pytest.mark.parametrize("secrets", [[], b"", [b""], [SECRET, b""], "text-secret", ["text-secret"]])
def test_missing_or_empty_secrets_are_a_configuration_error(secrets: object) -> None:
    with pytest.raises(ValueError):
        verify(secrets, token(), now=NOW)  # type: ignore[arg-type]


def test_issue_refuses_an_empty_secret_and_empty_ids() -> None:
    with pytest.raises(ValueError):
        token(b"")
    with pytest.raises(ValueError, match="ticket_id"):
        token(ticket_id="")
    with pytest.raises(ValueError, match="survey_id"):
        token(survey_id="")


@pytest.mark.parametrize("score", [True, 4.0, "5"])
def test_issue_refuses_a_score_that_is_not_a_whole_number(score: object) -> None:
    with pytest.raises(ValueError, match="score"):
        token(score=score)


# --- tampering and malformed tokens ------------------------------------------------------------------------


def resign_free_payload(text: str, **changes: object) -> str:
    """Rewrite the payload without the secret, keeping the old signature: what a forger can do."""
    payload, signature = text.split(".")
    fields = json.loads(unb64(payload))
    keys = ["version", "ticket_id", "survey_id", "expires_us", "score"]
    for key, value in changes.items():
        fields[keys.index(key)] = value
    return f"{b64(json.dumps(fields, separators=(',', ':')).encode())}.{signature}"


@pytest.mark.parametrize(
    "changes",
    [
        {"ticket_id": "T-1043"},
        {"survey_id": "srv-78"},
        {"expires_us": 4102444800000000},
        {"score": 10},
        {"version": 2},
    ],
)
def test_a_changed_payload_field_is_invalid(changes: dict[str, object]) -> None:
    with pytest.raises(TokenInvalid):
        verify(SECRET, resign_free_payload(token(score=1), **changes), now=NOW)


def test_a_signature_from_another_token_is_invalid() -> None:
    payload, _ = token(survey_id="srv-1").split(".")
    _, signature = token(survey_id="srv-2").split(".")
    with pytest.raises(TokenInvalid):
        verify(SECRET, f"{payload}.{signature}", now=NOW)


def test_a_truncated_or_flipped_signature_is_invalid() -> None:
    payload, signature = token().split(".")
    raw = unb64(signature)
    for bad in (raw[:-1], raw + b"\0", bytes([raw[0] ^ 1]) + raw[1:], b""):
        with pytest.raises(TokenInvalid):
            verify(SECRET, f"{payload}.{b64(bad)}", now=NOW)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        ".",
        "no-dot-at-all",
        "a.b.c",
        "abc.",
        ".abc",
        "ab+c.def",
        "ab/c.def",
        "abcd=.efgh",
        "a.bcde",
        "\u00e9t\u00e9.abcd",
        " " + "abcd.efgh",
        "x" * (MAX_TOKEN_LENGTH + 1),
    ],
)
def test_malformed_tokens_are_invalid(malformed: str) -> None:
    with pytest.raises(TokenInvalid):
        verify(SECRET, malformed, now=NOW)


def test_padding_or_whitespace_around_a_real_token_is_invalid() -> None:
    text = token()
    for variant in (text + "=", text + "==", text + "\n", " " + text, text.replace(".", ".."), text + "."):
        with pytest.raises(TokenInvalid):
            verify(SECRET, variant, now=NOW)


@pytest.mark.parametrize("not_text", [None, b"abc.def", 42])
def test_a_token_that_is_not_text_is_invalid(not_text: object) -> None:
    with pytest.raises(TokenInvalid):
        verify(SECRET, not_text, now=NOW)  # type: ignore[arg-type]


@given(
    st.text(min_size=1, max_size=20),
    st.none() | st.integers(0, 10),
    st.data(),
)
def test_any_single_character_change_is_refused(
    ticket_id: str, score: int | None, data: st.DataObject
) -> None:
    text = issue(SECRET, ticket_id=ticket_id, survey_id="srv-77", expires_at=EXPIRES, score=score)
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    replacement = data.draw(st.sampled_from(ALPHABET) | st.characters(), label="replacement").replace(
        text[position], ""
    )
    if not replacement:
        replacement = "A" if text[position] != "A" else "B"
    changed = text[:position] + replacement + text[position + 1 :]
    assert changed != text
    with pytest.raises(TokenInvalid):
        verify([SECRET, OLD_SECRET], changed, now=NOW)


@given(st.data())
def test_changing_the_last_character_of_either_part_is_refused(data: st.DataObject) -> None:
    """The last base64 character has unused bits; a lenient decoder would accept some changes to it."""
    text = token()
    payload, signature = text.split(".")
    part = data.draw(st.sampled_from(["payload", "signature"]))
    original = payload if part == "payload" else signature
    replacement = data.draw(st.sampled_from(ALPHABET.replace(".", "").replace(original[-1], "")))
    changed_part = original[:-1] + replacement
    changed = f"{changed_part}.{signature}" if part == "payload" else f"{payload}.{changed_part}"
    with pytest.raises(TokenInvalid):
        verify(SECRET, changed, now=NOW)


def test_every_non_canonical_last_character_of_the_signature_is_refused() -> None:
    payload, signature = token().split(".")
    for character in ALPHABET.replace(".", ""):
        if character == signature[-1]:
            continue
        with pytest.raises(TokenInvalid):
            verify(SECRET, f"{payload}.{signature[:-1]}{character}", now=NOW)
