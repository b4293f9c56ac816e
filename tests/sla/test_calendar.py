"""Business-time arithmetic: pure functions, no database."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tierdesk.sla.calendar import (
    BusinessCalendar,
    add_business_time,
    add_business_times,
    business_time_between,
)


@pytest.fixture(autouse=True)
def _no_real_commit_leak() -> Iterator[None]:
    # Shadows the DB-bound autouse fixture of tests/conftest.py: these tests never touch the DB.
    yield


ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
OFFICE = {str(d): [["09:00", "18:00"]] for d in range(5)}  # Mon-Fri 09:00-18:00
LUNCH = {str(d): [["09:00", "13:00"], ["14:00", "18:00"]] for d in range(5)}
H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)


def office(zone: str = "Europe/Rome", holidays: list[str] | None = None) -> BusinessCalendar:
    return BusinessCalendar.from_data(zone, OFFICE, holidays or [])


def local(zone: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=zone)


# 2026-03-06 is a Friday, 2026-03-09 the Monday after.
FRI = (2026, 3, 6)
MON = (2026, 3, 9)
TUE = (2026, 3, 10)


# --- the product example and office hours --------------------------------------------------
def test_a_ticket_at_friday_1755_with_a_15_minute_sla_is_due_monday_0910_in_rome() -> None:
    due = add_business_time(local(ROME, *FRI, 17, 55), 15 * M, office())
    assert due == local(ROME, *MON, 9, 10)
    assert due.tzinfo is UTC


def test_the_product_example_also_holds_in_utc() -> None:
    cal = office("UTC")
    assert add_business_time(local(UTC, *FRI, 17, 55), 15 * M, cal) == local(UTC, *MON, 9, 10)


def test_a_weekend_counts_no_business_time() -> None:
    cal = office()
    assert business_time_between(local(ROME, *FRI, 18), local(ROME, *MON, 9), cal) == timedelta(0)
    assert add_business_time(local(ROME, 2026, 3, 7, 10), H, cal) == local(ROME, *MON, 10)


def test_a_dated_holiday_is_skipped() -> None:
    cal = office(holidays=["2026-03-09"])
    assert add_business_time(local(ROME, *FRI, 17, 55), 15 * M, cal) == local(ROME, *TUE, 9, 10)
    assert not cal.is_open(local(ROME, *MON, 10))
    assert office().is_open(local(ROME, *MON, 10))


def test_a_yearly_holiday_is_closed_every_year() -> None:
    cal = office(holidays=["--12-25"])
    for year in (2025, 2026):  # a Thursday, then a Friday
        assert not cal.is_open(local(ROME, year, 12, 25, 10))
        assert cal.is_open(local(ROME, year, 12, 24, 10))
    # Thursday 2026-12-24 17:00 + 2h: one hour on Thursday, Friday is Christmas, then Monday.
    assert add_business_time(local(ROME, 2026, 12, 24, 17), 2 * H, cal) == local(ROME, 2026, 12, 28, 10)


def test_a_yearly_holiday_on_february_29_only_applies_in_leap_years() -> None:
    cal = office(holidays=["--02-29"])
    assert not cal.is_open(local(ROME, 2028, 2, 29, 10))  # a Tuesday in a leap year
    assert cal.is_open(local(ROME, 2028, 3, 1, 10))


def test_a_lunch_break_splits_the_day() -> None:
    cal = BusinessCalendar.from_data("Europe/Rome", LUNCH, [])
    assert add_business_time(local(ROME, *MON, 12, 30), H, cal) == local(ROME, *MON, 14, 30)
    assert business_time_between(local(ROME, *MON, 12), local(ROME, *MON, 15), cal) == 2 * H
    assert not cal.is_open(local(ROME, *MON, 13, 30))
    assert cal.next_open(local(ROME, *MON, 13, 30)) == local(ROME, *MON, 14)


def test_adjacent_intervals_merge_into_one() -> None:
    split = BusinessCalendar.from_data("UTC", {"0": [["12:00", "18:00"], ["09:00", "12:00"]]}, [])
    whole = BusinessCalendar.from_data("UTC", {"0": [["09:00", "18:00"]]}, [])
    assert split == whole
    assert split.hours[0] == ((540, 1080),)


def test_a_start_before_opening_counts_from_the_opening() -> None:
    assert add_business_time(local(ROME, *MON, 7), 30 * M, office()) == local(ROME, *MON, 9, 30)


def test_a_start_after_closing_counts_from_the_next_opening() -> None:
    assert add_business_time(local(ROME, *MON, 20), 30 * M, office()) == local(ROME, *TUE, 9, 30)


def test_the_closing_minute_itself_is_closed() -> None:
    cal = office()
    assert not cal.is_open(local(ROME, *MON, 18))
    assert cal.is_open(local(ROME, *MON, 18) - US)
    assert add_business_time(local(ROME, *MON, 18), 30 * M, cal) == local(ROME, *TUE, 9, 30)


def test_a_deadline_landing_exactly_on_the_close_is_the_close_not_the_next_opening() -> None:
    assert add_business_time(local(ROME, *MON, 17), H, office()) == local(ROME, *MON, 18)


def test_adding_zero_returns_the_start_unchanged_in_utc_even_when_closed() -> None:
    saturday = local(ROME, 2026, 3, 7, 10, 0)
    result = add_business_time(saturday, timedelta(0), office())
    assert result == saturday
    assert result.tzinfo is UTC


def test_microseconds_are_kept_exactly() -> None:
    start = local(ROME, *MON, 9) + 7 * US
    assert add_business_time(start, US, office()) == start + US
    assert business_time_between(start, local(ROME, *MON, 18), office()) == 9 * H - 7 * US


def test_days_open_until_2400_run_on_into_the_next_day() -> None:
    cal = BusinessCalendar.from_data("UTC", {"0": [["22:00", "24:00"]], "1": [["00:00", "02:00"]]}, [])
    assert add_business_time(local(UTC, *MON, 23), 2 * H, cal) == local(UTC, *TUE, 1)
    assert business_time_between(local(UTC, *MON), local(UTC, *TUE, 12), cal) == 4 * H
    assert cal.is_open(local(UTC, *TUE))


def test_a_24_7_calendar_is_plain_elapsed_time() -> None:
    for zone in ("UTC", "Europe/Rome", "America/New_York"):
        cal = BusinessCalendar.always_open(zone)
        # In UTC: `aware + timedelta` in a DST zone is wall-clock arithmetic, not elapsed time.
        start = local(ROME, 2026, 3, 1, 13, 17).astimezone(UTC) + 3 * US
        for duration in (US, 15 * M, 100 * H, timedelta(days=400)):
            assert add_business_time(start, duration, cal) == start + duration
            assert business_time_between(start, start + duration, cal) == duration


def test_the_same_hours_mean_different_instants_in_tokyo_and_new_york() -> None:
    tokyo, new_york = office("Asia/Tokyo"), office("America/New_York")
    assert add_business_time(local(TOKYO, *FRI, 17, 55), 15 * M, tokyo) == local(TOKYO, *MON, 9, 10)
    assert add_business_time(local(NEW_YORK, *FRI, 17, 55), 15 * M, new_york) == local(NEW_YORK, *MON, 9, 10)
    monday_morning_in_tokyo = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # Sunday 21:00 in New York
    assert tokyo.is_open(monday_morning_in_tokyo)
    assert not new_york.is_open(monday_morning_in_tokyo)
    assert new_york.next_open(monday_morning_in_tokyo) == local(NEW_YORK, *MON, 9)


def test_next_open_returns_an_open_instant_itself_in_utc() -> None:
    at = local(ROME, *MON, 10, 30)
    result = office().next_open(at)
    assert result == at
    assert result.tzinfo is UTC


# --- daylight saving time ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("zone", "day", "length"),
    [
        (ROME, (2026, 3, 29), 23 * H),  # spring forward 02:00 -> 03:00
        (ROME, (2026, 10, 25), 25 * H),  # fall back 03:00 -> 02:00
        (NEW_YORK, (2026, 3, 8), 23 * H),
        (NEW_YORK, (2026, 11, 1), 25 * H),
        (ROME, (2026, 3, 28), 24 * H),
    ],
)
def test_a_day_open_round_the_clock_lasts_as_long_as_the_real_day(
    zone: ZoneInfo, day: tuple[int, int, int], length: timedelta
) -> None:
    cal = BusinessCalendar.from_data(str(zone), {str(d): [["00:00", "24:00"]] for d in range(7)}, [])
    midnight = local(zone, *day)
    next_midnight = datetime.combine(midnight.date() + timedelta(days=1), midnight.timetz())
    assert business_time_between(midnight, next_midnight, cal) == length
    assert add_business_time(midnight, length, cal) == next_midnight


def test_a_day_of_adding_across_spring_forward_ends_an_hour_later_on_the_wall_clock() -> None:
    cal = BusinessCalendar.always_open("Europe/Rome")
    assert add_business_time(local(ROME, 2026, 3, 28, 12), 24 * H, cal) == local(ROME, 2026, 3, 29, 13)


def test_an_opening_inside_the_spring_forward_gap_starts_when_the_gap_ends() -> None:
    cal = BusinessCalendar.from_data("Europe/Rome", {"6": [["02:30", "04:00"]]}, [])
    dst_sunday, normal_sunday = (2026, 3, 29), (2026, 3, 22)
    assert business_time_between(local(ROME, *dst_sunday), local(ROME, *dst_sunday, 12), cal) == H
    assert business_time_between(local(ROME, *normal_sunday), local(ROME, *normal_sunday, 12), cal) == 90 * M
    assert cal.next_open(local(ROME, *dst_sunday)) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_an_opening_entirely_inside_the_spring_forward_gap_does_not_happen() -> None:
    cal = BusinessCalendar.from_data("Europe/Rome", {"6": [["02:00", "03:00"]]}, [])
    assert business_time_between(local(ROME, 2026, 3, 29), local(ROME, 2026, 3, 30), cal) == timedelta(0)
    assert cal.next_open(local(ROME, 2026, 3, 29)) == local(ROME, 2026, 4, 5, 2)


def test_an_opening_spanning_the_repeated_hour_counts_both_passes() -> None:
    cal = BusinessCalendar.from_data("America/New_York", {"6": [["01:00", "02:00"]]}, [])
    day_start, day_end = local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)
    assert business_time_between(day_start, day_end, cal) == 2 * H


def test_an_opening_inside_the_repeated_hour_counts_the_first_pass_only() -> None:
    cal = BusinessCalendar.from_data("America/New_York", {"6": [["01:00", "01:30"]]}, [])
    day_start, day_end = local(NEW_YORK, 2026, 11, 1), local(NEW_YORK, 2026, 11, 2)
    assert business_time_between(day_start, day_end, cal) == 30 * M
    second_pass = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=NEW_YORK)
    assert cal.is_open(datetime(2026, 11, 1, 1, 15, tzinfo=NEW_YORK))
    assert not cal.is_open(second_pass)


def test_office_hours_keep_nine_hours_on_days_after_a_switch() -> None:
    cal = office("America/New_York")
    monday = (2026, 3, 9)  # the day after the spring switch
    assert business_time_between(local(NEW_YORK, 2026, 3, 6, 17), local(NEW_YORK, *monday, 10), cal) == 2 * H
    assert business_time_between(local(NEW_YORK, *monday), local(NEW_YORK, 2026, 3, 10), cal) == 9 * H


# --- between ------------------------------------------------------------------------------
def test_business_time_between_is_negative_when_the_end_comes_first() -> None:
    a, b = local(ROME, *FRI, 17), local(ROME, *MON, 10)
    assert business_time_between(a, b, office()) == 2 * H
    assert business_time_between(b, a, office()) == -2 * H


def test_business_time_between_an_instant_and_itself_is_zero() -> None:
    a = local(ROME, *MON, 10)
    assert business_time_between(a, a, office()) == timedelta(0)
    assert business_time_between(a, a.astimezone(TOKYO), office()) == timedelta(0)


# --- errors -------------------------------------------------------------------------------
def test_naive_datetimes_are_rejected() -> None:
    naive = datetime(2026, 3, 9, 10, 0)
    aware = naive.replace(tzinfo=UTC)
    cal = office()
    with pytest.raises(ValueError, match="naive"):
        cal.is_open(naive)
    with pytest.raises(ValueError, match="naive"):
        cal.next_open(naive)
    with pytest.raises(ValueError, match="naive"):
        add_business_time(naive, H, cal)
    with pytest.raises(ValueError, match="naive"):
        business_time_between(aware, naive, cal)
    with pytest.raises(ValueError, match="naive"):
        business_time_between(naive, aware, cal)


@pytest.mark.parametrize("hours", [{}, {"0": [], "6": []}])
def test_a_calendar_that_never_opens_raises_instead_of_looping(hours: dict[str, list[list[str]]]) -> None:
    cal = BusinessCalendar.from_data("Europe/Rome", hours, [])
    start = local(ROME, *MON, 10)
    with pytest.raises(ValueError, match="calendar has no opening hours"):
        add_business_time(start, H, cal)
    with pytest.raises(ValueError, match="calendar has no opening hours"):
        cal.next_open(start)
    assert not cal.is_open(start)
    assert business_time_between(start, start + timedelta(days=30), cal) == timedelta(0)


def test_a_calendar_whose_every_day_is_a_holiday_raises_instead_of_looping() -> None:
    every_day = [f"--{d:%m-%d}" for d in (date(2000, 1, 1) + timedelta(days=i) for i in range(366))]
    cal = BusinessCalendar.from_data("UTC", OFFICE, every_day)
    with pytest.raises(ValueError, match="no opening within"):
        add_business_time(local(UTC, *MON, 10), H, cal)
    assert business_time_between(local(UTC, *MON), local(UTC, 2036, 1, 1), cal) == timedelta(0)


def test_a_negative_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(local(ROME, *MON, 10), -M, office())


@pytest.mark.parametrize(
    ("timezone", "hours", "holidays"),
    [
        ("Mars/Olympus", OFFICE, []),
        ("UTC", {"7": [["09:00", "18:00"]]}, []),
        ("UTC", {"0": [["09:00", "25:00"]]}, []),
        ("UTC", {"0": [["24:00", "24:00"]]}, []),
        ("UTC", {"0": [["9:00", "18:00"]]}, []),
        ("UTC", {"0": [["18:00", "09:00"]]}, []),
        ("UTC", {"0": [["09:00", "13:00"], ["12:00", "18:00"]]}, []),
        ("UTC", {"0": [["09:00"]]}, []),
        ("UTC", OFFICE, ["2026-02-30"]),
        ("UTC", OFFICE, ["--13-01"]),
        ("UTC", OFFICE, ["Christmas"]),
    ],
)
def test_invalid_calendar_data_is_rejected(
    timezone: str, hours: dict[str, list[list[str]]], holidays: list[str]
) -> None:
    with pytest.raises(ValueError):
        BusinessCalendar.from_data(timezone, hours, holidays)


def test_calendars_compare_hash_and_pickle_by_value() -> None:
    a, b = office(holidays=["--12-25", "2026-04-06"]), office(holidays=["2026-04-06", "--12-25"])
    assert a == b
    assert hash(a) == hash(b)
    assert pickle.loads(pickle.dumps(a)) == a
    assert a != office()


# --- properties ---------------------------------------------------------------------------
ZONES = [
    "UTC",
    "Europe/Rome",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Santiago",  # switches at midnight
    "Asia/Kolkata",
]
FIXED_ZONES = ["UTC", "Asia/Tokyo", "Asia/Kolkata"]
BOUNDARY = st.one_of(st.integers(0, 1440), st.sampled_from([0, 60, 90, 120, 150, 180, 1380, 1440]))


@st.composite
def calendars(draw: st.DrawFn, zones: list[str] = ZONES) -> BusinessCalendar:
    hours: dict[int, tuple[tuple[int, int], ...]] = {}
    for weekday in range(7):
        if draw(st.booleans()):
            continue
        bounds = sorted(draw(st.lists(BOUNDARY, unique=True, max_size=6)))
        hours[weekday] = tuple(zip(bounds[0::2], bounds[1::2], strict=False))
    assume(any(hours.values()))
    holidays = draw(st.frozensets(st.dates(date(1999, 1, 1), date(2045, 1, 1)), max_size=5))
    yearly = draw(st.frozensets(st.tuples(st.integers(1, 12), st.integers(1, 28)), max_size=3))
    return BusinessCalendar(draw(st.sampled_from(zones)), hours, holidays, yearly)


def instants(zones: list[str] = ZONES) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2040, 1, 1),
        timezones=st.sampled_from([ZoneInfo(z) for z in zones]),
    )


def business_day(cal: BusinessCalendar) -> int:
    """Average opening per open weekday, in microseconds."""
    days = [sum(e - s for s, e in spans) for spans in cal.hours.values()]
    return sum(days) * 60_000_000 // len(days)


@st.composite
def durations(draw: st.DrawFn, cal: BusinessCalendar) -> timedelta:
    return timedelta(microseconds=draw(st.integers(0, 40 * business_day(cal))))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cal=calendars(), start=instants())
def test_adding_then_measuring_gives_back_the_duration_exactly(
    data: st.DataObject, cal: BusinessCalendar, start: datetime
) -> None:
    duration = data.draw(durations(cal))
    due = add_business_time(start, duration, cal)
    assert due.tzinfo is UTC
    assert due >= start
    assert business_time_between(start, due, cal) == duration
    if duration:  # the earliest such instant
        assert business_time_between(start, due - US, cal) < duration


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cal=calendars(), start=instants())
def test_a_longer_duration_never_gives_an_earlier_deadline(
    data: st.DataObject, cal: BusinessCalendar, start: datetime
) -> None:
    d1, d2 = sorted([data.draw(durations(cal)), data.draw(durations(cal))])
    assert add_business_time(start, d1, cal) <= add_business_time(start, d2, cal)


@settings(max_examples=200, deadline=None)
@given(
    cal=calendars(),
    a=instants(),
    b_offset=st.timedeltas(timedelta(days=-60), timedelta(days=60)),
    c_offset=st.timedeltas(timedelta(days=-60), timedelta(days=60)),
)
def test_business_time_between_adds_up_over_consecutive_ranges(
    cal: BusinessCalendar, a: datetime, b_offset: timedelta, c_offset: timedelta
) -> None:
    b, c = a + b_offset, a + c_offset
    assert business_time_between(a, b, cal) + business_time_between(b, c, cal) == business_time_between(
        a, c, cal
    )
    assert business_time_between(b, a, cal) == -business_time_between(a, b, cal)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), at=instants())
def test_next_open_is_the_instant_itself_exactly_when_open(cal: BusinessCalendar, at: datetime) -> None:
    opening = cal.next_open(at)
    assert cal.is_open(opening)
    # Compare in UTC: Python never finds an ambiguous (fold) local time equal to another zone's.
    assert (opening == at.astimezone(UTC)) == cal.is_open(at)
    assert business_time_between(at, opening, cal) == timedelta(0)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=instants(),
    duration=st.timedeltas(timedelta(0), timedelta(days=90)),
)
def test_a_24_7_calendar_is_plain_elapsed_time_in_any_zone(
    zone: str, start: datetime, duration: timedelta
) -> None:
    cal = BusinessCalendar.always_open(zone)
    start = start.astimezone(UTC)  # so that `+` below is elapsed time, not wall-clock time
    assert add_business_time(start, duration, cal) == start + duration
    assert business_time_between(start, start + duration, cal) == duration
    # The same hours kept off the round-the-clock shortcut by a holiday long past: walking
    # every day gives the shortcut's answer.
    walked = BusinessCalendar(zone, {d: ((0, 1440),) for d in range(7)}, frozenset({date(1900, 1, 1)}))
    assert add_business_time(start, duration, walked) == start + duration


@settings(max_examples=200, deadline=None)
@given(data=st.data(), cal=calendars(), start=instants())
def test_several_durations_from_one_start_give_what_each_gives_on_its_own(
    data: st.DataObject, cal: BusinessCalendar, start: datetime
) -> None:
    many = data.draw(st.lists(durations(cal), max_size=8))
    assert add_business_times(start, many, cal) == [add_business_time(start, d, cal) for d in many]


def test_a_negative_duration_among_several_is_rejected() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        add_business_times(datetime(2026, 3, 6, 12, tzinfo=UTC), [H, -M], office())


@settings(max_examples=200, deadline=None)
@given(
    cal=calendars(FIXED_ZONES),
    start=instants(FIXED_ZONES),
    minutes=st.integers(0, 2 * 24 * 60),
)
def test_business_time_matches_a_minute_by_minute_count_in_zones_without_dst(
    cal: BusinessCalendar, start: datetime, minutes: int
) -> None:
    zone = ZoneInfo(cal.timezone)
    a = start.replace(second=0, microsecond=0)
    open_minutes = 0
    for i in range(minutes):
        wall = (a + i * M).astimezone(zone)
        minute_of_day = wall.hour * 60 + wall.minute
        day = wall.date()
        if day in cal.holidays or (day.month, day.day) in cal.yearly_holidays:
            continue
        spans = cal.hours.get(day.weekday(), ())
        open_minutes += any(s <= minute_of_day < e for s, e in spans)
    assert business_time_between(a, a + minutes * M, cal) == open_minutes * M
