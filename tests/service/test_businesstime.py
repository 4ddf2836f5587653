"""Business time is exact against a hand-checked table (Asia/Shanghai, 09:00–12:00 and 13:00–18:00, Mon–Fri,
China's 2025 National Day holiday 1–8 October with the worked Sunday 28 September and Saturday 11 October)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from guanxi.service.businesstime import WorkCalendar, add_business_minutes, business_minutes_between, hours_parse
from guanxi.service.models import default_hours

CST = ZoneInfo("Asia/Shanghai")
HOLIDAYS = frozenset(date(2025, 10, d) for d in range(1, 9))
WORKDAYS = frozenset([date(2025, 9, 28), date(2025, 10, 11)])
CAL = WorkCalendar(zone=CST, weekly=hours_parse(default_hours()), holidays=HOLIDAYS, workdays=WORKDAYS)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=CST)


# (start, business minutes, expected end) — each worked out by hand on a paper calendar
ADD_CASES = [
    ("within the morning", at(9, 22, 10), 60, at(9, 22, 11)),
    ("across lunch", at(9, 22, 11, 30), 60, at(9, 22, 13, 30)),
    ("ends exactly at noon, not after lunch", at(9, 22, 9), 180, at(9, 22, 12)),
    ("starts at lunch", at(9, 22, 12, 15), 30, at(9, 22, 13, 30)),
    ("across the night", at(9, 22, 17, 30), 60, at(9, 23, 9, 30)),
    ("starts before opening", at(9, 23, 6), 15, at(9, 23, 9, 15)),
    ("across a weekend", at(9, 19, 17), 120, at(9, 22, 10)),
    ("starts on a Saturday", at(9, 20, 10), 30, at(9, 22, 9, 30)),
    ("adjusted workday (调休 Sunday 28 Sep) is worked", at(9, 27, 10), 30, at(9, 28, 9, 30)),
    ("across 国庆 1–8 Oct", at(9, 30, 17), 120, at(10, 9, 10)),
    ("starts inside the holiday", at(10, 3, 10), 60, at(10, 9, 10)),
    ("into the worked Saturday 11 Oct", at(10, 9, 17), 600, at(10, 11, 10)),
    ("a full working day", at(9, 22, 9), 480, at(9, 22, 18)),
    ("two weeks of working days", at(9, 1, 9), 480 * 10, at(9, 12, 18)),
    ("zero minutes", at(9, 20, 10), 0, at(9, 20, 10)),
]

BETWEEN_CASES = [
    ("within the morning", at(9, 22, 10), at(9, 22, 11), 60),
    ("across the night", at(9, 22, 17, 30), at(9, 23, 9, 30), 60),
    ("across a weekend", at(9, 19, 17), at(9, 22, 10), 120),
    ("across 国庆", at(9, 30, 17), at(10, 9, 10), 120),
    ("weekend only", at(9, 20, 10), at(9, 20, 12), 0),
    ("Fri 26 Sep to Mon 13 Oct: 26, 28, 29, 30 Sep and 9, 10, 11 Oct worked", at(9, 26, 9), at(10, 13, 9), 7 * 480),
    ("backwards is negative", at(9, 22, 11), at(9, 22, 10), -60),
    ("lunch does not count", at(9, 22, 11), at(9, 22, 14), 120),
]


@pytest.mark.parametrize(("start", "minutes", "expected"), [c[1:] for c in ADD_CASES], ids=[c[0] for c in ADD_CASES])
def test_adding_business_minutes_matches_the_hand_checked_table(start, minutes, expected) -> None:
    """Adding N business minutes lands on the instant worked out by hand."""
    assert add_business_minutes(CAL, start, minutes) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"), [c[1:] for c in BETWEEN_CASES], ids=[c[0] for c in BETWEEN_CASES]
)
def test_business_minutes_between_matches_the_hand_checked_table(start, end, expected) -> None:
    """The business minutes between two instants are the ones counted by hand."""
    assert business_minutes_between(CAL, start, end) == expected


def test_other_time_zones_are_converted_to_the_calendars() -> None:
    """An instant in UTC is read in the calendar's zone: 01:00 UTC is 09:00 in Shanghai."""
    start = datetime(2025, 9, 22, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert add_business_minutes(CAL, start, 30) == at(9, 22, 9, 30)


def test_adding_and_measuring_agree_over_a_year_of_official_days() -> None:
    """With China's official 2025 days, a year holds exactly (official workdays × 480) minutes, and adding
    that many minutes from New Year's morning ends on the last workday's close."""
    cal = WorkCalendar(
        zone=CST,
        weekly=hours_parse(default_hours()),
        holidays=frozenset(d for d in chinese_calendar.holidays if d.year == 2025),
        workdays=frozenset(d for d in chinese_calendar.workdays if d.year == 2025),
    )
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
    worked = sum(1 for d in days if chinese_calendar.is_workday(d))
    assert worked == 248
    start, end = datetime(2025, 1, 1, 0, 0, tzinfo=CST), datetime(2026, 1, 1, 0, 0, tzinfo=CST)
    assert business_minutes_between(cal, start, end) == worked * 480
    last_workday = max(d for d in days if chinese_calendar.is_workday(d))
    assert add_business_minutes(cal, start, worked * 480) == datetime.combine(
        last_workday, datetime.min.time(), tzinfo=CST
    ) + timedelta(hours=18)


def test_seconds_are_kept() -> None:
    """Partial minutes are counted exactly, not rounded."""
    start = at(9, 22, 10) + timedelta(seconds=30)
    assert business_minutes_between(CAL, start, at(9, 22, 10, 1)) == 0.5
    assert add_business_minutes(CAL, start, 1) == at(9, 22, 10, 1) + timedelta(seconds=30)
