"""Business calendars: when an SLA clock is allowed to count.

A customer who writes on Friday evening to an office that works Monday to Friday 09:00-17:00
has not been kept waiting all weekend, so SLA clocks count *business time* only. A calendar is
an IANA time zone, weekly business hours and holidays, or simply 24/7.

Semantics (what the arithmetic promises):

- **Weekly hours** are `[start, end]` pairs of local wall-clock times "HH:MM" per weekday. "24:00"
  may end an interval; an interval whose end is not after its start runs overnight into the next
  day (fri ["22:00", "06:00"] is Friday 22:00 to Saturday 06:00; ["00:00", "00:00"] is a whole
  24 hours). An interval includes its start and excludes its end. Intervals may touch but not
  overlap, also across midnight and from Sunday into Monday.
- **Wall-clock membership**: an instant is open when its local wall time lies inside an interval.
  So a 09:00-17:00 day stays 09:00-17:00 local across a daylight-saving change, and a day
  ["00:00", "24:00"] counts its real length: 23 hours on a spring-forward day, 25 on a fall-back
  day. Wall times skipped by a spring-forward never happen, so they count nothing; wall times
  repeated by a fall-back happen twice, so they count twice.
- **Holidays** are local dates on which no interval counts, including the overnight part of an
  interval that *starts* on the holiday; the overnight part of the day before, running into the
  holiday, still counts (it belongs to the day it started on).
- **24/7** (`always_open=True`) counts every real second; it has no weekly hours nor holidays.

Arithmetic is exact (microseconds pass through; calendar boundaries fall on whole seconds):

- `elapsed(start, end)` is the business time inside [start, end), zero when end <= start.
- `add(start, duration)` is the *earliest* moment at which `duration` of business time has
  elapsed since `start`. A positive duration that runs out exactly at a closing time gives that
  closing time (Friday 16:00 + 1h on a 09:00-17:00 calendar is Friday 17:00, not Monday 09:00);
  a duration of zero gives `start` itself, open or not (nothing has to elapse). Hence
  `elapsed(s, add(s, d)) == d` and `add(add(s, a), b) == add(s, a + b)`.
- `next_open(moment)` is `moment` when open, else the next opening, or None when the calendar
  never opens again.

Every method takes timezone-aware datetimes (a naive one is a ValueError, since its meaning
would depend on the host) and returns them in the time zone of its argument. The work is done
per open interval, never per second, so a target of weeks is a few dozen steps.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from helpdesk_events.times import known_timezone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_START = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
_END = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")
_DAY = 24 * 60
_WEEK = 7 * _DAY

# UTC offsets on Earth stay within -12:00..+14:00; a day's intervals cannot begin in UTC before its
# local midnight minus this much, which bounds how far ahead the interval stream must look.
_MAX_OFFSET = timedelta(hours=15)
# Time zones never change their offset twice within this span, so a stretch this short with the
# same offset at both ends has no transition inside.
_QUIET = timedelta(hours=6)
_SECOND = timedelta(seconds=1)
UTC = timezone.utc
_CACHE_LIMIT = 4096

Interval = tuple[datetime, datetime]  # naive UTC [start, end)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _span(start: str, end: str) -> tuple[int, int]:
    """Minutes from the day's midnight to the start and to the end; an overnight end lies past 1440."""
    first, last = _minutes(start), _minutes(end)
    if last <= first:
        last += _DAY
    return first, last


def _utc(moment: datetime, what: str) -> datetime:
    """`moment` as a naive UTC datetime; a naive `moment` is refused, its meaning would depend on the host."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC).replace(tzinfo=None)


def _back(naive_utc: datetime, like: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC).astimezone(like.tzinfo)


class BusinessCalendar(BaseModel):
    """Business hours in one time zone, with holidays; or 24/7. See the module docstring for the rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1, description="How policies refer to this calendar.", examples=["paris-office"]
    )
    timezone: str = Field(description="IANA time zone of the hours and holidays.", examples=["Europe/Paris"])
    weekly: dict[Weekday, tuple[tuple[str, str], ...]] = Field(
        default_factory=dict,
        description=(
            'Per weekday (mon..sun), [start, end] pairs in "HH:MM" local time; "24:00" may end an '
            "interval, and an end not after its start runs overnight into the next day. A missing "
            "day is closed. Intervals must not overlap, also across midnight."
        ),
        examples=[{"mon": [["09:00", "17:00"]], "fri": [["09:00", "17:00"], ["22:00", "06:00"]]}],
    )
    holidays: tuple[date, ...] = Field(
        default=(),
        description="Local dates on which nothing counts, including overnight hours starting on them.",
        examples=[["2025-12-25", "2026-01-01"]],
    )
    always_open: bool = Field(
        default=False, description="24/7: every second counts; no weekly hours nor holidays."
    )

    _zone: ZoneInfo = PrivateAttr()
    _days: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr()
    _closed_on: frozenset[date] = PrivateAttr()
    _cache: dict[date, tuple[Interval, ...]] = PrivateAttr(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        return known_timezone(name)

    @field_validator("weekly")
    @classmethod
    def _valid_weekly(
        cls, weekly: dict[Weekday, tuple[tuple[str, str], ...]]
    ) -> dict[Weekday, tuple[tuple[str, str], ...]]:
        ordered: dict[Weekday, tuple[tuple[str, str], ...]] = {}
        placed: list[tuple[int, int, Weekday, str, str]] = []  # minutes since Monday 00:00
        for index, day in enumerate(WEEKDAYS):
            if day not in weekly:
                continue
            for start, end in weekly[day]:
                if not _START.match(start):
                    raise ValueError(f"{day}: start {start!r} is not a time HH:MM between 00:00 and 23:59")
                if not _END.match(end):
                    raise ValueError(f"{day}: end {end!r} is not a time HH:MM between 00:00 and 24:00")
                first, last = _span(start, end)
                placed.append((index * _DAY + first, index * _DAY + last, day, start, end))
            ordered[day] = tuple(sorted(weekly[day], key=lambda pair: _minutes(pair[0])))
        placed.sort()
        # Sorted by start, an interval can only overlap the next one; the last one of the week is
        # compared with the first one a week later (Sunday night running into Monday).
        for position, here in enumerate(placed):
            if position + 1 < len(placed):
                there = placed[position + 1]
                next_start = there[0]
            else:
                there = placed[0]
                next_start = there[0] + _WEEK
            if next_start < here[1]:
                raise ValueError(
                    f"{here[2]}: interval {here[3]}-{here[4]} overlaps {there[2]} {there[3]}-{there[4]}"
                )
        return ordered

    @field_validator("holidays")
    @classmethod
    def _sorted_holidays(cls, holidays: tuple[date, ...]) -> tuple[date, ...]:
        return tuple(sorted(set(holidays)))

    @model_validator(mode="after")
    def _open_means_no_hours(self) -> BusinessCalendar:
        if self.always_open and (any(self.weekly.values()) or self.holidays):
            raise ValueError(
                f"calendar {self.name!r} is always_open: weekly hours and holidays must be empty"
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._zone = ZoneInfo(self.timezone)
        self._days = tuple(
            tuple(_span(start, end) for start, end in self.weekly.get(day, ())) for day in WEEKDAYS
        )
        self._closed_on = frozenset(self.holidays)

    def _identity(self) -> tuple[Any, ...]:
        weekly = tuple((day, self.weekly[day]) for day in WEEKDAYS if day in self.weekly)
        return (self.name, self.timezone, weekly, self.holidays, self.always_open)

    # Equality and hashing by the fields only: pydantic would also compare the private interval cache.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessCalendar):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    # -- public arithmetic ---------------------------------------------------------------------

    @property
    def has_business_hours(self) -> bool:
        """False for a calendar that never opens (no weekly hours and not 24/7)."""
        return self.always_open or any(self._days)

    def is_open(self, moment: datetime) -> bool:
        """Whether business time is counting at `moment`."""
        at = _utc(moment, "moment")
        if self.always_open:
            return True
        for start, _ in self._open_from(at):
            return start <= at
        return False

    def next_open(self, moment: datetime) -> datetime | None:
        """`moment` if open, else the next opening; None when the calendar never opens again."""
        at = _utc(moment, "moment")
        if self.always_open:
            return moment
        for start, _ in self._open_from(at):
            return moment if start <= at else _back(start, moment)
        return None

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside [start, end); zero when `end` is not after `start`."""
        since, until = _utc(start, "start"), _utc(end, "end")
        if until <= since:
            return timedelta(0)
        if self.always_open:
            return until - since
        total = timedelta(0)
        for first, last in self._open_from(since):
            if first >= until:
                break
            total += min(last, until) - max(first, since)
        return total

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest moment at which `duration` of business time has elapsed since `start`.

        Zero gives `start` itself; a negative duration is a ValueError, and so is a positive one on
        a calendar that has no business hours at all ("calendar has no business hours").
        """
        since = _utc(start, "start")
        if not isinstance(duration, timedelta):
            raise TypeError(f"duration must be a timedelta, not {type(duration).__name__}")
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == timedelta(0):
            return start
        if self.always_open:
            return _back(since + duration, start)
        if not self.has_business_hours:
            raise ValueError(f"calendar {self.name!r}: calendar has no business hours")
        remaining = duration
        for first, last in self._open_from(since):
            first = max(first, since)
            if remaining <= last - first:
                return _back(first + remaining, start)
            remaining -= last - first
        raise ValueError(
            f"calendar {self.name!r}: {duration} of business time after {start} is beyond year 9999"
        )

    # -- open intervals in UTC -----------------------------------------------------------------

    def _open_from(self, at: datetime) -> Iterator[Interval]:
        """The open intervals (naive UTC) ending after `at`, in order, until the calendar runs out.

        A day's intervals are mapped to UTC by wall-clock membership; around a fall-back the pieces of
        neighbouring days interleave in UTC, so they pass through a heap and leave it only once no
        later day can still produce an earlier piece.
        """
        if not any(self._days):
            return
        local = at.replace(tzinfo=UTC).astimezone(self._zone)
        day = local.date() - timedelta(days=3)
        last_day = date.max - timedelta(days=3)
        pending: list[Interval] = []
        horizon = max(holiday for holiday in self.holidays) if self.holidays else date.min
        empty_days = 0
        while True:
            while day <= last_day and (
                not pending or datetime.combine(day, time()) - _MAX_OFFSET <= pending[0][0]
            ):
                pieces = self._pieces(day)
                for piece in pieces:
                    if piece[1] > at:
                        heapq.heappush(pending, piece)
                # A weekly template yields hours every week once past the last holiday; a run of empty
                # weeks after that can only mean every interval vanished, which a template cannot do.
                # Only days past the last holiday count: holidays can empty more than two weeks before it.
                empty_days = 0 if pieces or day <= horizon else empty_days + 1
                if empty_days > 14 and day > horizon and not pending:
                    return
                day += timedelta(days=1)
            if not pending:
                return
            yield heapq.heappop(pending)

    def _pieces(self, day: date) -> tuple[Interval, ...]:
        """The UTC pieces of the intervals that start on local date `day`."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        pieces: list[Interval] = []
        if day not in self._closed_on:
            midnight = datetime.combine(day, time())
            for first, last in self._days[day.weekday()]:
                pieces.extend(
                    self._wall_to_utc(midnight + timedelta(minutes=first), midnight + timedelta(minutes=last))
                )
        result = tuple(sorted(pieces))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[day] = result
        return result

    def _wall_to_utc(self, wall_start: datetime, wall_end: datetime) -> list[Interval]:
        """The UTC instants whose local wall time lies in [wall_start, wall_end), as intervals."""
        offsets = [
            self._zone.utcoffset(wall.replace(fold=fold))
            for wall in (wall_start, wall_end)
            for fold in (0, 1)
        ]
        low, high = wall_start - max(offsets), wall_end - min(offsets)
        low_offset, high_offset = self._offset(low), self._offset(high)
        bounds = [
            (low, low_offset),
            *self._transitions(low, high, low_offset, high_offset),
            (high, high_offset),
        ]
        pieces: list[Interval] = []
        for (first, offset), (last, _) in zip(bounds, bounds[1:]):
            piece = (max(first, wall_start - offset), min(last, wall_end - offset))
            if piece[0] < piece[1]:
                if pieces and pieces[-1][1] == piece[0]:
                    pieces[-1] = (pieces[-1][0], piece[1])
                else:
                    pieces.append(piece)
        return pieces

    def _offset(self, naive_utc: datetime) -> timedelta:
        offset = naive_utc.replace(tzinfo=UTC).astimezone(self._zone).utcoffset()
        assert offset is not None
        return offset

    def _transitions(
        self, low: datetime, high: datetime, low_offset: timedelta, high_offset: timedelta
    ) -> list[tuple[datetime, timedelta]]:
        """The moments in (low, high] at which the UTC offset changes, each with its new offset."""
        if low_offset == high_offset and high - low <= _QUIET:
            return []
        if high - low <= _SECOND:
            return [(high, high_offset)]
        middle = low + timedelta(seconds=(high - low) // _SECOND // 2)
        middle_offset = self._offset(middle)
        return self._transitions(low, middle, low_offset, middle_offset) + self._transitions(
            middle, high, middle_offset, high_offset
        )


ALWAYS_OPEN = BusinessCalendar(name="24/7", timezone="UTC", always_open=True)
