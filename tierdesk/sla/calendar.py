"""Business-time arithmetic on opening-hours calendars.

Pure functions, stdlib only: no database, no other tierdesk domain. Used by the SLA scheduler
to turn "4 business hours" into a stored deadline, and to measure elapsed business time.

Model
-----
A calendar has an IANA time zone, opening intervals per weekday in *local wall-clock* time
(minutes since local midnight, end exclusive, 1440 = "24:00"), dated holidays and yearly
(month, day) holidays. Every local day is turned into a list of real UTC intervals; business
time is the real elapsed time inside those intervals. So a day open 00:00-24:00 counts 23 hours
on a spring-forward day and 25 hours on a fall-back day.

Local wall times that do not map to exactly one instant are resolved as:

* nonexistent (inside a spring-forward gap): the first instant after the gap, e.g. Europe/Rome
  2026-03-29 02:30 -> 03:00 CEST;
* ambiguous (inside a fall-back repeat): the first occurrence (``fold=0``). So an interval that
  lies entirely inside the repeated hour, e.g. 01:00-01:30 in America/New_York on 2026-11-01,
  counts only once (30 minutes), while 01:00-02:00 counts both passes (2 hours).

All arithmetic is done in integer microseconds since the Unix epoch: exact, no floats.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["BusinessCalendar", "add_business_time", "add_business_times", "business_time_between"]

Span = tuple[int, int]  # [start, end) in minutes since local midnight, or in UTC microseconds

_MINUTE_US = 60 * 1_000_000
_DAY_US = 24 * 60 * _MINUTE_US
_DAY_MINUTES = 24 * 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAIVE_EPOCH = datetime(1970, 1, 1)
# Give up looking for the next opening after this many consecutive closed days (~3 years).
_MAX_CLOSED_DAYS = 3 * 366
_CACHE_MAX_DAYS = 4096
_TIME = re.compile(r"^([0-9]{2}):([0-9]{2})$")
_WEEKDAYS = {str(d): d for d in range(7)}


def _td_us(value: timedelta) -> int:
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _to_us(at: datetime) -> int:
    """Microseconds since the epoch of an aware datetime; ValueError on a naive one."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"datetime {at.isoformat()} is naive: a timezone-aware datetime is required")
    return _td_us(at - _EPOCH)


def _from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _parse_time(text: str, *, end: bool) -> int:
    match = _TIME.match(text)
    if match:
        hh, mm = int(match.group(1)), int(match.group(2))
        if hh < 24 and mm < 60:
            return hh * 60 + mm
        if end and hh == 24 and mm == 0:
            return _DAY_MINUTES
    raise ValueError(f"time '{text}' must be HH:MM (00:00-23:59, or 24:00 as an end)")


def _normalize_spans(weekday: int, spans: Sequence[Sequence[int]]) -> tuple[Span, ...]:
    cleaned: list[Span] = []
    for span in spans:
        if len(span) != 2:
            raise ValueError(f"weekday {weekday}: an opening interval needs a start and an end, got {span!r}")
        start, end = span
        if (
            isinstance(start, bool)
            or isinstance(end, bool)
            or not isinstance(start, int)
            or not isinstance(end, int)
        ):
            raise ValueError(f"weekday {weekday}: interval bounds must be minutes (int), got {span!r}")
        if not 0 <= start < end <= _DAY_MINUTES:
            raise ValueError(
                f"weekday {weekday}: opening interval {start}-{end} (minutes) is not within 0-1440"
            )
        cleaned.append((start, end))
    cleaned.sort()
    merged: list[Span] = []
    for start, end in cleaned:
        if merged and start < merged[-1][1]:
            raise ValueError(f"weekday {weekday}: opening intervals overlap")
        if merged and start == merged[-1][1]:
            merged[-1] = (merged[-1][0], end)  # adjacent: 09:00-12:00 + 12:00-18:00
        else:
            merged.append((start, end))
    return tuple(merged)


@lru_cache(maxsize=1 << 14)
def _wall_to_us(zone: ZoneInfo, ordinal: int, minute: int) -> int:
    """UTC microseconds of the local wall time ``minute`` after midnight of local day ``ordinal``.

    Cached across calendar instances, so a calendar rebuilt per request from stored data stays fast.
    """
    wall_us = (ordinal - _EPOCH_ORDINAL) * _DAY_US + minute * _MINUTE_US
    if minute == _DAY_MINUTES:
        ordinal, minute = ordinal + 1, 0
    day = date.fromordinal(ordinal)
    hh, mm = divmod(minute, 60)
    # ZoneInfo.utcoffset reads the wall fields and fold of a naive datetime.
    before = zone.utcoffset(datetime(day.year, day.month, day.day, hh, mm))  # offset before a transition
    after = zone.utcoffset(datetime(day.year, day.month, day.day, hh, mm, fold=1))  # offset after it
    assert before is not None and after is not None  # a ZoneInfo always has an offset
    off_before, off_after = _td_us(before), _td_us(after)
    if off_after <= off_before:
        return wall_us - off_before  # unambiguous, or ambiguous -> first occurrence (fold=0)
    # Nonexistent (in a gap): the transition instant T, i.e. the first instant after the gap.
    # Instants x < T show a wall time before the gap (<= wall), x >= T one after it (> wall).
    lo, hi = wall_us - off_after, wall_us - off_before  # lo < T <= hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        local = _from_us(mid).astimezone(zone).replace(tzinfo=None)
        if _td_us(local - _NAIVE_EPOCH) > wall_us:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in a time zone.

    ``hours`` maps weekday (0 = Monday .. 6 = Sunday) to sorted, non-overlapping, non-adjacent
    ``(start, end)`` minute offsets from local midnight (``end`` up to 1440). Missing weekdays are
    closed. The constructor validates and normalizes it into a read-only mapping.
    """

    timezone: str
    hours: Mapping[int, tuple[Span, ...]] = field(hash=False)
    holidays: frozenset[date] = frozenset()
    yearly_holidays: frozenset[tuple[int, int]] = frozenset()  # (month, day)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    # local date ordinal -> that day's opening intervals as UTC microseconds
    _days: dict[int, tuple[Span, ...]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )
    # Open round the clock every day, with no holidays: business time is elapsed time.
    _always_open: bool = field(init=False, repr=False, compare=False, hash=False, default=False)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"'{self.timezone}' is not a known time zone") from exc
        hours: dict[int, tuple[Span, ...]] = {}
        for weekday, spans in self.hours.items():
            if isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6:
                raise ValueError(f"weekday {weekday!r} must be 0 (Monday) to 6 (Sunday)")
            normalized = _normalize_spans(weekday, spans)
            if normalized:
                hours[weekday] = normalized
        for month, day in self.yearly_holidays:
            date(2000, month, day)  # ValueError if impossible; 2000 is leap so 02-29 is fine
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "hours", MappingProxyType(hours))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "yearly_holidays", frozenset(self.yearly_holidays))
        always = all(hours.get(d) == ((0, _DAY_MINUTES),) for d in range(7))
        object.__setattr__(self, "_always_open", always and not self.holidays and not self.yearly_holidays)

    def __reduce__(self) -> tuple[Any, ...]:
        # MappingProxyType does not pickle; rebuild from plain data.
        return (type(self), (self.timezone, dict(self.hours), self.holidays, self.yearly_holidays))

    # --- construction --------------------------------------------------------------------
    @classmethod
    def from_data(
        cls, timezone: str, hours: Mapping[str, Sequence[Sequence[str]]], holidays: Sequence[str]
    ) -> BusinessCalendar:
        """Build from the stored form (tiers ``Calendar.timezone/hours/holidays``)."""
        parsed: dict[int, tuple[Span, ...]] = {}
        for key, spans in hours.items():
            weekday = _WEEKDAYS.get(str(key).strip())
            if weekday is None:
                raise ValueError(f"weekday '{key}' must be 0 (Monday) to 6 (Sunday)")
            day_spans: list[tuple[int, int]] = []
            for span in spans:
                if len(span) != 2:
                    raise ValueError(f"weekday {weekday}: opening interval {span!r} needs [start, end]")
                start, end = _parse_time(span[0], end=False), _parse_time(span[1], end=True)
                if start >= end:
                    raise ValueError(
                        f"weekday {weekday}: opening interval {span[0]}-{span[1]} ends before it starts"
                    )
                day_spans.append((start, end))
            parsed[weekday] = tuple(day_spans)
        dated: set[date] = set()
        yearly: set[tuple[int, int]] = set()
        for text in holidays:
            try:
                if text.startswith("--"):
                    day = date.fromisoformat("2000" + text[1:])
                    yearly.add((day.month, day.day))
                else:
                    dated.add(date.fromisoformat(text))
            except ValueError as exc:
                raise ValueError(f"holiday '{text}' is not YYYY-MM-DD or --MM-DD") from exc
        return cls(
            timezone=timezone, hours=parsed, holidays=frozenset(dated), yearly_holidays=frozenset(yearly)
        )

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessCalendar:
        return cls(timezone=timezone, hours={d: ((0, _DAY_MINUTES),) for d in range(7)})

    # --- queries -------------------------------------------------------------------------
    def is_open(self, at: datetime) -> bool:
        t = _to_us(at)
        today = self._local_ordinal(t)
        for ordinal in (today - 1, today, today + 1):
            for start, end in self._day_spans(ordinal):
                if start <= t < end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """``at`` (in UTC) if open, else the start of the next opening. ValueError if none."""
        for start, _end in self._spans(_to_us(at)):
            return _from_us(start)
        raise AssertionError("unreachable: _spans without a bound never ends")  # pragma: no cover

    # --- internals -----------------------------------------------------------------------
    def _local_ordinal(self, t: int) -> int:
        return _from_us(t).astimezone(self._zone).toordinal()

    def _is_holiday(self, ordinal: int) -> bool:
        if not self.holidays and not self.yearly_holidays:
            return False
        day = date.fromordinal(ordinal)
        return day in self.holidays or (day.month, day.day) in self.yearly_holidays

    def _day_spans(self, ordinal: int) -> tuple[Span, ...]:
        """Opening intervals of local day ``ordinal`` as UTC microseconds, sorted, non-empty."""
        cached = self._days.get(ordinal)
        if cached is not None:
            return cached
        spans = self.hours.get((ordinal - 1) % 7)  # date.fromordinal(1) is a Monday
        result: tuple[Span, ...] = ()
        if spans and not self._is_holiday(ordinal):
            converted = []
            for start, end in spans:
                s, e = _wall_to_us(self._zone, ordinal, start), _wall_to_us(self._zone, ordinal, end)
                if s < e:  # an interval entirely inside a DST gap vanishes
                    converted.append((s, e))
            result = tuple(converted)
        if len(self._days) >= _CACHE_MAX_DAYS:
            self._days.clear()
        self._days[ordinal] = result
        return result

    def _spans(self, t: int, until: int | None = None) -> Iterator[Span]:
        """Opening intervals (UTC microseconds) ending after ``t``, in order, clipped to start >= t.

        With ``until``, stops before the first interval starting at or after it. Without, the
        sequence is endless, and ValueError is raised if the calendar has no opening hours or
        nothing opens within ~3 years.
        """
        if not self.hours:
            if until is None:
                raise ValueError("calendar has no opening hours")
            return
        ordinal = self._local_ordinal(t) - 1
        closed_days = 0
        while True:
            found = False
            for start, end in self._day_spans(ordinal):
                if end <= t:
                    continue
                if until is not None and start >= until:
                    return
                found = True
                yield (start if start > t else t, end)
            ordinal += 1
            if until is not None:
                # Local midnight of `ordinal` is at least (wall midnight - 2 days) in UTC.
                if (ordinal - _EPOCH_ORDINAL - 2) * _DAY_US >= until:
                    return
            elif found:
                closed_days = 0
            else:
                closed_days += 1
                if closed_days > _MAX_CLOSED_DAYS:
                    raise ValueError(
                        f"calendar has no opening within {_MAX_CLOSED_DAYS} days of {_from_us(t).isoformat()}"
                    )


def add_business_time(start: datetime, duration: timedelta, calendar: BusinessCalendar) -> datetime:
    """The earliest instant ``t`` with ``business_time_between(start, t) == duration`` (aware UTC).

    Adding zero returns ``start`` unchanged (in UTC), even when closed. A deadline that lands
    exactly on a closing time is that closing time, not the next opening. Raises ValueError on a
    naive ``start``, a negative duration, or a calendar that never opens.
    """
    return add_business_times(start, (duration,), calendar)[0]


def add_business_times(
    start: datetime, durations: Sequence[timedelta], calendar: BusinessCalendar
) -> list[datetime]:
    """``add_business_time(start, d, calendar)`` for each of ``durations``, in their order, with
    one walk over the calendar's opening hours (a new ticket's timers all start at once: each
    one's deadline and warning come from the same walk)."""
    t = _to_us(start)
    wanted = [_td_us(d) for d in durations]
    if any(w < 0 for w in wanted):
        raise ValueError(f"duration must not be negative, got {min(durations)}")
    if not calendar.hours:
        raise ValueError("calendar has no opening hours")
    if calendar._always_open:  # every instant counts: plain elapsed time, no walk
        return [_from_us(t + w) for w in wanted]
    out: list[datetime] = [_EPOCH] * len(wanted)
    pending = sorted(range(len(wanted)), key=wanted.__getitem__)
    k = 0
    while k < len(pending) and wanted[pending[k]] == 0:
        out[pending[k]] = _from_us(t)
        k += 1
    passed = 0  # business time in the spans already walked
    if k < len(pending):
        for span_start, span_end in calendar._spans(t):
            length = span_end - span_start
            while k < len(pending) and wanted[pending[k]] - passed <= length:
                out[pending[k]] = _from_us(span_start + wanted[pending[k]] - passed)
                k += 1
            if k == len(pending):
                break
            passed += length
    return out


def business_time_between(a: datetime, b: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time in [a, b); negative if ``b < a``. Zero for a calendar that never opens."""
    ta, tb = _to_us(a), _to_us(b)
    sign = 1
    if tb < ta:
        ta, tb, sign = tb, ta, -1
    total = 0
    for span_start, span_end in calendar._spans(ta, until=tb):
        total += (span_end if span_end < tb else tb) - span_start
    return timedelta(microseconds=sign * total)
