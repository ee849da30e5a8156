"""`sha256=<hex>` webhook signatures: HMAC-SHA256 of the raw body under a shared secret.

Pure. The scheme Meta sends in `X-Hub-Signature-256` (and GitHub too); the social and voice
webhooks both use it, each under its own header and secret. Compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


class BadSignature(Exception):
    """The request is not provably from the provider; the message says why (HTTP 401)."""


def body_signature(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_body_signature(secret: str, header: str, signature: str | None, body: bytes) -> None:
    """Passes when `signature` (the value of `header`) signs exactly these bytes with `secret`."""
    if not signature:
        raise BadSignature(f"{header} is missing")
    if not signature.startswith(PREFIX):
        raise BadSignature(f"{header} must be {PREFIX}<hex HMAC-SHA256 of the raw body>")
    expected = body_signature(secret, body).encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode("ascii", "replace")):
        raise BadSignature(f"{header} does not match the body")
