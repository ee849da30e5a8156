"""Times every service handles alike: IANA time zone names in settings and documents, and times read
back from MongoDB."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this process knows; else a ValueError saying so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r}") from None
    return name


def stored_time(value: datetime | str | None) -> datetime | None:
    """A time read from MongoDB, aware and in UTC.

    MongoDB hands dates back naive (in UTC); nx-27017 (the test server) keeps a datetime written by
    `$set` on an existing document as text in UTC ('2026-11-23 18:42:09.803000').
    """
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
