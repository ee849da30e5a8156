"""The query of a report endpoint (`from`, `to`, `group_by`), checked the same way in every service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from fastapi import HTTPException, status

MAX_SPAN = timedelta(days=366)  # a year of tickets, leap day included; more is a batch job, not a request


def _moment(name: str, text: str | None, problems: list[dict[str, str]]) -> datetime | None:
    if text is None or not text.strip():
        problems.append({"field": name, "reason": "required: an ISO 8601 date-time with a UTC offset"})
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        problems.append({"field": name, "reason": f"{text!r} is not an ISO 8601 date-time"})
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append({"field": name, "reason": f"{text!r} has no UTC offset (add Z or +01:00, say)"})
        return None
    return moment


def report_window(
    start_text: str | None,
    end_text: str | None,
    group_by: str | None,
    *,
    group_bys: Sequence[str],
    group_by_required: bool = True,
) -> tuple[datetime, datetime, str | None]:
    """The checked query, or an HTTPException 422 naming every problem."""
    problems: list[dict[str, str]] = []
    start = _moment("from", start_text, problems)
    end = _moment("to", end_text, problems)
    if group_by not in group_bys and (group_by is not None or group_by_required):
        problems.append(
            {"field": "group_by", "reason": f"must be one of {', '.join(group_bys)}, got {group_by!r}"}
        )
    if start is not None and end is not None:
        if end <= start:
            problems.append({"field": "to", "reason": "must be after from"})
        elif end - start > MAX_SPAN:
            problems.append({"field": "to", "reason": f"the window spans more than {MAX_SPAN.days} days"})
    if problems or start is None or end is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, {"message": "report refused", "problems": problems}
        )
    return start, end, group_by
