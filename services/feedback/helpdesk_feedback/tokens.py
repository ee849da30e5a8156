"""Signed, expiring survey tokens bound to one ticket and one survey (standard library only).

A survey link carries everything the survey page needs to know who is answering what, so the page needs no
login, and a token for one survey cannot be turned into a vote on another. Format::

    <payload>.<signature>

both base64url without padding. The payload is compact JSON ``[1, ticket_id, survey_id, expires_us, score]``
(``1`` is the format version, ``expires_us`` the expiry in whole microseconds since the Unix epoch so it
round-trips exactly, ``score`` the one-click rating or ``null``); the signature is HMAC-SHA256 over a
fixed context label and the payload *as transmitted*, so nothing is re-serialised before checking.

What this module does not do: refuse a token that was already used (that needs the store), or prove that a
person and not an email scanner followed a one-click link (the page confirms with a POST). A bound ``score``
only says which rating the link offers; the answer is the one the customer confirms.

Secrets rotate: ``verify`` takes several, the current one first, so links emailed before a rotation keep
working until they expire. Use random secrets of at least 32 bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

FORMAT_VERSION = 1
MAX_TOKEN_LENGTH = 4096
"""Longer tokens are refused before any decoding, so a huge query string costs nothing to reject."""

_CONTEXT = b"helpdesk-feedback/survey-token/v1\x00"
"""Prefixed to what is signed, so a MAC made with the same secret for another purpose never verifies here."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class TokenError(Exception):
    """A survey token cannot be used; the survey page shows a friendly page instead of the form."""


class TokenExpired(TokenError):
    """The token is authentic but past its expiry (HTTP 410 Gone suits it: the link was real, now over)."""

    def __init__(self, claim: SurveyClaim) -> None:
        super().__init__(
            f"survey token for ticket {claim.ticket_id!r} expired at {claim.expires_at.isoformat()}"
        )
        self.claim = claim


class TokenInvalid(TokenError):
    """The token is malformed, tampered with, or signed with a secret we do not hold."""


@dataclass(frozen=True)
class SurveyClaim:
    """What a valid token vouches for."""

    ticket_id: str
    survey_id: str
    expires_at: datetime
    score: int | None = None
    """The rating a one-click link offers, or ``None`` for a plain link to the survey page."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    """Decode strict, canonical base64url without padding, else raise ``TokenInvalid``.

    Canonical matters: the last character of a base64 string carries unused bits, and a lenient decoder maps
    several spellings to the same bytes. Requiring the re-encoding to match means any changed character is a
    changed token, never an equivalent one.
    """
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TokenInvalid("token is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenInvalid("token is not base64url") from error
    if _b64encode(data) != text:
        raise TokenInvalid("token is not canonical base64url")
    return data


def _signature(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()


def _require_aware(name: str, moment: datetime) -> None:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def _require_secret(secret: object) -> bytes:
    if not isinstance(secret, bytes | bytearray) or not secret:
        raise ValueError("a survey token secret must be non-empty bytes")
    return bytes(secret)


def issue(
    secret: bytes,
    *,
    ticket_id: str,
    survey_id: str,
    expires_at: datetime,
    score: int | None = None,
) -> str:
    """Sign a token for one survey of one ticket, valid strictly before ``expires_at`` (timezone-aware).

    ``score`` binds a rating for a one-click link; check it against the survey's scale first
    (``scores.validate_score``), since the token does not know the survey kind.
    """
    secret = _require_secret(secret)
    for name, value in (("ticket_id", ticket_id), ("survey_id", survey_id)):
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    _require_aware("expires_at", expires_at)
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
        raise ValueError(f"score must be a whole number or None, got {score!r}")
    expires_us = (expires_at - _EPOCH) // _MICROSECOND
    body = json.dumps(
        [FORMAT_VERSION, ticket_id, survey_id, expires_us, score], ensure_ascii=False, separators=(",", ":")
    )
    payload = _b64encode(body.encode("utf-8"))
    token = f"{payload}.{_b64encode(_signature(secret, payload))}"
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(f"ticket and survey ids make a token longer than {MAX_TOKEN_LENGTH} characters")
    return token


def _claim_of(body: bytes) -> SurveyClaim:
    """Read a signed payload; only reachable with a valid signature, so a failure means a format mismatch."""
    try:
        fields = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise TokenInvalid("token payload is not JSON") from error
    if not isinstance(fields, list) or len(fields) != 5 or fields[0] != FORMAT_VERSION:
        raise TokenInvalid("token payload has an unknown format")
    _, ticket_id, survey_id, expires_us, score = fields
    if not (isinstance(ticket_id, str) and ticket_id and isinstance(survey_id, str) and survey_id):
        raise TokenInvalid("token payload has no ticket or survey")
    if isinstance(expires_us, bool) or not isinstance(expires_us, int):
        raise TokenInvalid("token payload has no expiry")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int)):
        raise TokenInvalid("token payload has a malformed score")
    try:
        expires_at = _EPOCH + expires_us * _MICROSECOND
    except OverflowError as error:
        raise TokenInvalid("token expiry is out of range") from error
    return SurveyClaim(ticket_id=ticket_id, survey_id=survey_id, expires_at=expires_at, score=score)


def verify(secrets: bytes | Sequence[bytes], token: str, *, now: datetime) -> SurveyClaim:
    """Return what ``token`` vouches for, or raise ``TokenInvalid`` / ``TokenExpired``.

    ``secrets`` is one secret or several (current first, then retired ones still accepted during rotation).
    Signatures are compared in constant time. The signature is checked before the expiry, so a forged token
    is reported as invalid even if its claimed expiry has passed; a token is expired from ``expires_at`` on.
    """
    keys = [_require_secret(secrets)] if isinstance(secrets, bytes | bytearray) else list(secrets)
    if not keys:
        raise ValueError("verify needs at least one secret")
    keys = [_require_secret(key) for key in keys]
    _require_aware("now", now)
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise TokenInvalid("token is missing or too long")
    payload, dot, signature_text = token.partition(".")
    if not dot or "." in signature_text:
        raise TokenInvalid("token does not have two parts")
    body = _b64decode(payload)
    signature = _b64decode(signature_text)
    # Check every key, not just until a match, so timing does not even reveal which key signed the token.
    matches = [hmac.compare_digest(_signature(key, payload), signature) for key in keys]
    if not any(matches):
        raise TokenInvalid("token signature does not match")
    claim = _claim_of(body)
    if now >= claim.expires_at:
        raise TokenExpired(claim)
    return claim
