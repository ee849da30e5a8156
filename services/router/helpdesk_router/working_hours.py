"""An agent's working hours: an IANA timezone and, per weekday, the intervals they work.

Intervals run from a start to a later end on the same day ("09:00"-"17:00"); "24:00" may end
one. Overnight intervals are not accepted: a night shift is written as two intervals,
["22:00", "24:00"] on one day and ["00:00", "06:00"] on the next, so every interval reads the
same way. An agent is offered tickets only inside these hours (`contains`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from helpdesk_events.times import known_timezone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_START = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_END = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")


class WorkingHours(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field(description="IANA timezone name, e.g. Europe/Paris.", examples=["Europe/Paris"])
    weekly: dict[Weekday, tuple[tuple[str, str], ...]] = Field(
        description=(
            'Per weekday (mon..sun), [start, end] pairs in "HH:MM" local time, start before end, not '
            'overlapping; "24:00" may end a day, and an overnight shift is split at midnight.'
        ),
        examples=[{"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": []}],
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        return known_timezone(name)

    @field_validator("weekly")
    @classmethod
    def _valid_intervals(
        cls, weekly: dict[Weekday, tuple[tuple[str, str], ...]]
    ) -> dict[Weekday, tuple[tuple[str, str], ...]]:
        ordered: dict[Weekday, tuple[tuple[str, str], ...]] = {}
        for day in WEEKDAYS:
            if day not in weekly:
                continue
            intervals = sorted(weekly[day])
            for start, end in intervals:
                if not _START.match(start):
                    raise ValueError(f"{day}: start {start!r} is not a time HH:MM between 00:00 and 23:59")
                if not _END.match(end):
                    raise ValueError(f"{day}: end {end!r} is not a time HH:MM between 00:01 and 24:00")
                if start >= end:
                    raise ValueError(
                        f"{day}: interval {start}-{end} must start before it ends "
                        "(split an overnight shift at midnight)"
                    )
            for (_, end), (start, _) in zip(intervals, intervals[1:]):
                if start < end:
                    raise ValueError(f"{day}: intervals overlap around {start}")
            ordered[day] = tuple(intervals)
        return ordered

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` (timezone-aware) falls inside a working interval, in the agent's own time zone.

        Local wall time decides, so a shift "09:00"-"17:00" keeps its local hours across a
        daylight-saving change; an interval includes its start and excludes its end.
        """
        local = moment.astimezone(ZoneInfo(self.timezone))
        clock = local.strftime("%H:%M")
        return any(start <= clock < end for start, end in self.weekly.get(WEEKDAYS[local.weekday()], ()))
