"""Who a customer is on a channel, normalized so one person is one key on every channel.

Pure. A key is "<kind>:<value>": "email:ada@example.com", "phone:+441632960983",
"social:twitter:ada". Channels turn their sender (kind + value + display name) into an
`Identity` with `identity_of` and hand it to `customers.CustomerDirectory.resolve`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    SOCIAL = "social"


class InvalidIdentity(ValueError):
    """A sender that cannot be a customer identity (empty, not a phone number, no network)."""


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    value: str  # normalized

    @property
    def key(self) -> str:
        """The `_id` in `customer_identities`."""
        return f"{self.kind.value}:{self.value}"

    @classmethod
    def from_key(cls, key: str) -> Identity:
        kind, _, value = key.partition(":")
        return cls(IdentityKind(kind), value)


_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")
_E164_DIGITS = re.compile(r"\d{6,15}")  # E.164 allows at most 15 digits; fewer than 6 is no number


def email_identity(address: str) -> Identity:
    """Lowercased whole: mail systems treat local parts case-insensitively in practice."""
    normalized = address.strip().lower()
    if "@" not in normalized.strip("@"):
        raise InvalidIdentity(f"not an email address: {address!r}")
    return Identity(IdentityKind.EMAIL, normalized)


def phone_identity(number: str) -> Identity:
    """Plus, country code and number, digits only. "00" counts as "+"; a number without either is taken
    as already international (voice and SMS providers send E.164), so it must carry its country code."""
    compact = _PHONE_PUNCTUATION.sub("", number.strip())
    if compact.startswith("+"):
        digits = compact[1:]
    elif compact.startswith("00"):
        digits = compact[2:]
    else:
        digits = compact
    if not _E164_DIGITS.fullmatch(digits):
        raise InvalidIdentity(f"not an international phone number: {number!r}")
    return Identity(IdentityKind.PHONE, "+" + digits)


def social_identity(network: str, handle: str) -> Identity:
    """The handle as network:handle, lowercased, without its leading "@"."""
    network, handle = network.strip().lower(), handle.strip().lower().lstrip("@")
    if not network or not handle or ":" in network:
        raise InvalidIdentity(f"not a social handle: {network!r}, {handle!r}")
    return Identity(IdentityKind.SOCIAL, f"{network}:{handle}")


def identity_of(kind: str, value: str) -> Identity:
    """A channel's sender as an identity; a social `value` is "network:handle"."""
    match kind.strip().lower():
        case IdentityKind.EMAIL:
            return email_identity(value)
        case IdentityKind.PHONE:
            return phone_identity(value)
        case IdentityKind.SOCIAL:
            network, separator, handle = value.partition(":")
            if not separator:
                raise InvalidIdentity(f"a social identity is network:handle, not {value!r}")
            return social_identity(network, handle)
        case _:
            raise InvalidIdentity(f"unknown identity kind {kind!r}")
