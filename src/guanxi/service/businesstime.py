"""Business time on a calendar: working hours per weekday in a time zone, holidays and adjusted workdays (调休).

`add_business_minutes` and `business_minutes_between` are exact to the minute (seconds are kept)
and walk the calendar one day at a time, skipping whole weeks when a span is long, so a year is
a few hundred cheap steps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

Interval = tuple[int, int]  # minutes after local midnight, [start, end)


def _minutes(text: str) -> int:
    hour, _sep, minute = str(text).partition(":")
    value = int(hour) * 60 + int(minute or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(text)
    return value


def hours_parse(hours: dict[str, Any]) -> dict[int, list[Interval]]:
    """{"0": [["09:00", "12:00"], …]} → {0: [(540, 720), …]}; overlapping or reversed intervals are refused."""
    parsed: dict[int, list[Interval]] = {}
    for key, intervals in (hours or {}).items():
        weekday = int(key)
        if not 0 <= weekday <= 6:
            raise ValidationError({"hours": _("Weekdays are numbered 0 (Monday) to 6 (Sunday).")})
        spans = []
        for pair in intervals or []:
            try:
                start, end = _minutes(pair[0]), _minutes(pair[1])
            except (ValueError, IndexError, TypeError):
                raise ValidationError({"hours": _("Write working hours as HH:MM–HH:MM.")}) from None
            if end <= start:
                raise ValidationError({"hours": _("A working period must end after it starts.")})
            spans.append((start, end))
        spans.sort()
        for (_s1, e1), (s2, _e2) in itertools.pairwise(spans):
            if s2 < e1:
                raise ValidationError({"hours": _("Working periods of one day must not overlap.")})
        if spans:
            parsed[weekday] = spans
    return parsed


@dataclass
class WorkCalendar:
    """A calendar ready for arithmetic (no database access)."""

    zone: ZoneInfo
    weekly: dict[int, list[Interval]]
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    workday_hours: list[Interval] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.workday_hours:
            # an adjusted workday (a worked Saturday) keeps the hours of an ordinary working day
            self.workday_hours = next((self.weekly[d] for d in range(7) if self.weekly.get(d)), [])
        self._week_minutes = sum(e - s for spans in self.weekly.values() for s, e in spans)
        special = self.holidays | self.workdays
        self._special = special
        self._special_min = min(special) if special else None
        self._special_max = max(special) if special else None

    def intervals(self, day: date) -> list[Interval]:
        if day in self.holidays:
            return []
        if day in self.workdays:
            return self.workday_hours
        return self.weekly.get(day.weekday(), [])

    def _plain_week(self, start: date) -> bool:
        """True when no holiday or adjusted day falls in the 7 days from `start`."""
        if self._special_min is None or self._special_max is None:
            return True
        end = start + timedelta(days=6)
        if end < self._special_min or start > self._special_max:
            return True
        return not any((start + timedelta(days=i)) in self._special for i in range(7))

    def _at(self, day: date, minute: int) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minute)


def calendar_for(calendar: Any) -> WorkCalendar:
    """A WorkCalendar from a BusinessCalendar row (reads its days once)."""
    days = list(calendar.days.values_list("date", "kind"))
    return WorkCalendar(
        zone=ZoneInfo(calendar.time_zone),
        weekly=hours_parse(calendar.hours),
        holidays=frozenset(d for d, kind in days if kind == "holiday"),
        workdays=frozenset(d for d, kind in days if kind == "workday"),
    )


def _local(cal: WorkCalendar, instant: datetime) -> tuple[date, float]:
    local = instant.astimezone(cal.zone)
    return local.date(), local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60_000_000


def add_business_minutes(cal: WorkCalendar, start: datetime, minutes: float) -> datetime:
    """The instant `minutes` of working time after `start` (ending exactly at a period's end, not the next start)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if cal._week_minutes == 0 and not cal.workdays:
        raise ValidationError({"calendar": _("This calendar has no working hours.")})
    day, now = _local(cal, start)
    remaining = float(minutes)
    if remaining == 0:
        return start
    for _guard in range(366 * 50):
        for s, e in cal.intervals(day):
            begin = max(s, now)
            if begin >= e:
                continue
            if remaining <= e - begin:
                return cal._at(day, 0) + timedelta(minutes=begin + remaining)
            remaining -= e - begin
        day, now = day + timedelta(days=1), 0.0
        while cal._week_minutes and remaining > cal._week_minutes and cal._plain_week(day):
            remaining -= cal._week_minutes
            day += timedelta(days=7)
    raise ValidationError({"calendar": _("This calendar has no working time in the next fifty years.")})


def business_minutes_between(cal: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working minutes from `start` to `end` (negative when `end` is earlier)."""
    if end < start:
        return -business_minutes_between(cal, end, start)
    day, now = _local(cal, start)
    last_day, last = _local(cal, end)
    total = 0.0
    while day <= last_day:
        if day < last_day and now == 0 and cal._plain_week(day) and day + timedelta(days=7) <= last_day:
            total += cal._week_minutes
            day += timedelta(days=7)
            continue
        stop = last if day == last_day else 24 * 60
        for s, e in cal.intervals(day):
            lo, hi = max(s, now), min(e, stop)
            if hi > lo:
                total += hi - lo
        day, now = day + timedelta(days=1), 0.0
    return total
