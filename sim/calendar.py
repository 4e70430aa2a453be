"""Working calendars: shifts, holidays, working time and deadlines.

Simulation time is in hours from the start of day 0. A calendar is a weekly pattern of on-duty
intervals, less any holidays. Every question the model asks of it ("is this worker on duty?",
"when do 4 working hours from now end?") is answered by arithmetic, so no SimPy event is spent on
shift changes. Deadlines count working time, as the national standard CJ/T 315 does.

The pattern is laid out once over the first ``span_days`` (the horizon, by default two years)
as sorted arrays of interval starts, ends and the working hours done before each start, so a
query is one ``bisect`` and a subtraction. Past the span the weekly pattern repeats (there are
no holidays there: the span always reaches past the last holiday).
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right

HOURS_PER_WEEK = 168.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_SPAN_DAYS = 735  # two years and a week: a year's run plus deadlines that run past its end


def from_spec(name: str, shifts, start_weekday: int = 0) -> Calendar:
    """The calendar of a scenario's shifts (each with ``days``, ``start_hour``, ``end_hour``)."""
    return Calendar(name, _shift_tuples(shifts), start_weekday)


def weekly_hours(name: str, shifts) -> float:
    """On-duty hours a week of a scenario's shifts, without laying the calendar out."""
    return _Week(name, _shift_tuples(shifts), 0).hours_per_week


def _shift_tuples(shifts) -> list:
    return [([WEEKDAYS.index(d) for d in sh.days], sh.start_hour, sh.end_hour) for sh in shifts]


class Calendar:
    """A weekly on-duty pattern, laid out over a span of days.

    ``shifts`` is a list of ``(weekday_indexes, start_hour, end_hour)``; ``start_weekday`` is the
    weekday of simulation day 0 (0 = Monday); ``holidays`` are simulation day indexes with no duty.
    """

    def __init__(self, name: str, shifts, start_weekday: int = 0, holidays=(), span_days: int | None = None):
        self.name = name
        self._week = _Week(name, shifts, start_weekday)
        self.always_on = self._week.always_on and not holidays
        self.hours_per_week = self._week.hours_per_week
        self.holidays = frozenset(int(d) for d in holidays)
        days = max(span_days or DEFAULT_SPAN_DAYS, max(self.holidays, default=-1) + 1)
        weeks = -(-days // 7)
        self._span = weeks * HOURS_PER_WEEK  # whole weeks, so the pattern after it starts in step
        self._starts, self._ends = _lay_out(self._week.in_sim_time(weeks), self.holidays, self._span)
        self._cum, self._cum_end, total = [], [], 0.0
        for s, e in zip(self._starts, self._ends):
            self._cum.append(total)  # working hours done before each interval starts
            total += e - s
            self._cum_end.append(total)
        self._span_hours = total
        self._day_hours = [self.working_hours_between(d * 24.0, d * 24.0 + 24.0) for d in range(weeks * 7)]

    # -- working time as a number: hours done since time 0 ---------------------------------------
    def working_hours_before(self, t: float) -> float:
        """Working hours from time 0 up to ``t`` (negative before time 0)."""
        if self.always_on:
            return t
        if 0.0 <= t <= self._span:
            i = bisect_right(self._starts, t) - 1
            if i < 0:
                return 0.0
            end = self._ends[i]
            return self._cum[i] + (t if t < end else end) - self._starts[i]
        week = self._week
        if t < 0.0:
            return week.working_hours_before(t) - week.working_hours_before(0.0)
        return self._span_hours + week.working_hours_before(t) - week.working_hours_before(self._span)

    def at_working_hours(self, target: float) -> float:
        """Inverse of :meth:`working_hours_before`: the earliest time with that much work done."""
        if self.always_on:
            return target
        if 0.0 < target <= self._span_hours:
            i = bisect_left(self._cum_end, target)
            if target == self._cum_end[i]:
                return self._ends[i]  # work ending at the close of a shift ends then, not next morning
            return self._starts[i] + (target - self._cum[i])
        week = self._week
        if target <= 0.0:
            return week.at_working_hours(target + week.working_hours_before(0.0))
        return week.at_working_hours(target - self._span_hours + week.working_hours_before(self._span))

    # -- what the model asks ----------------------------------------------------------------------
    def add_working_hours(self, t: float, hours: float) -> float:
        """The time at which ``hours`` of working time, starting at ``t``, are done."""
        if self.always_on:
            return t + hours
        if hours <= 0:
            return t
        if 0.0 <= t < self._span:
            i = bisect_right(self._starts, t) - 1
            if i >= 0 and t + hours <= self._ends[i]:
                return t + hours  # done within the shift it starts in: no arithmetic error
        return self.at_working_hours(self.working_hours_before(t) + hours)

    def working_hours_between(self, a: float, b: float) -> float:
        if self.always_on:
            return b - a
        return self.working_hours_before(b) - self.working_hours_before(a)

    def on_duty(self, t: float) -> bool:
        if self.always_on:
            return True
        if 0.0 <= t < self._span:
            i = bisect_right(self._starts, t) - 1
            return i >= 0 and t < self._ends[i]
        return self._week.on_duty(t)

    def next_on_duty(self, t: float) -> float:
        """``t`` if on duty, else the start of the next working interval."""
        if self.always_on:
            return t
        if 0.0 <= t < self._span:
            i = bisect_right(self._starts, t)
            if i and t < self._ends[i - 1]:
                return t
            if i < len(self._starts):
                return self._starts[i]
        elif t < 0.0:
            nxt = self._week.next_on_duty(t)
            return nxt if nxt < 0.0 else self.next_on_duty(0.0)  # day 0 may be a holiday
        return self._week.next_on_duty(max(t, self._span))

    def shift_end(self, t: float) -> float:
        """End of the working interval containing ``t`` (``t`` itself when off duty)."""
        if self.always_on:
            return float("inf")
        if 0.0 <= t < self._span:
            i = bisect_right(self._starts, t) - 1
            if i < 0 or t >= self._ends[i]:
                return t
            if self._ends[i] < self._span:
                return self._ends[i]
        elif t < 0.0:
            end = self._week.shift_end(t)
            return end if end <= 0.0 else self.shift_end(0.0)  # day 0 may be a holiday
        return self._week.shift_end(t)  # the shift runs on past the span: no holidays there

    @functools.cached_property
    def working_days_per_year(self) -> float:
        return self._week.working_days_per_year

    def hours_on_day(self, day: int) -> float:
        if 0 <= day < len(self._day_hours):
            return self._day_hours[day]
        return self._week.hours_on_day(day)


class _Week:
    """The weekly pattern alone: the reference past the laid-out span (periodic arithmetic)."""

    def __init__(self, name: str, shifts, start_weekday: int):
        intervals = []
        for days, start, end in shifts:
            for day in days:
                intervals.append((day * 24.0 + start, day * 24.0 + end))
        intervals = _merge(sorted(intervals))
        if not intervals:
            raise ValueError(f"calendar {name!r} has no working hours")
        self.always_on = intervals == [(0.0, HOURS_PER_WEEK)]
        self._starts = [s for s, _ in intervals]
        self._ends = [e for _, e in intervals]
        cumulative, total = [], 0.0
        for s, e in intervals:
            cumulative.append(total)
            total += e - s
        self._cum = cumulative  # working hours in the week before each interval starts
        self.hours_per_week = total
        self._offset = start_weekday * 24.0
        self._day_hours: dict[int, float] = {}

    def in_sim_time(self, weeks: int) -> list[tuple[float, float]]:
        """The pattern's intervals over ``weeks`` weeks from time 0, in simulation time."""
        out = []
        for k in range(weeks + 1):  # one more week: day 0 need not be a Monday
            base = k * HOURS_PER_WEEK - self._offset
            out.extend((base + s, base + e) for s, e in zip(self._starts, self._ends))
        return out

    def _split(self, t: float) -> tuple[float, float]:
        shifted = t + self._offset
        week = shifted // HOURS_PER_WEEK
        return week * HOURS_PER_WEEK - self._offset, shifted - week * HOURS_PER_WEEK

    def working_hours_before(self, t: float) -> float:
        if self.always_on:
            return t
        base, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        within = 0.0 if i < 0 else self._cum[i] + min(w, self._ends[i]) - self._starts[i]
        return (base + self._offset) / HOURS_PER_WEEK * self.hours_per_week + within

    def at_working_hours(self, target: float) -> float:
        if self.always_on:
            return target
        weeks, rest = divmod(target, self.hours_per_week)
        i = bisect_right(self._cum, rest) - 1
        if rest > self._cum[i]:
            w = self._starts[i] + rest - self._cum[i]
        elif i > 0:  # exactly on a boundary: the work ended with the previous interval
            w = self._ends[i - 1]
        else:  # ... which was the last interval of the previous week
            weeks -= 1
            w = self._ends[-1]
        return weeks * HOURS_PER_WEEK - self._offset + w

    def on_duty(self, t: float) -> bool:
        if self.always_on:
            return True
        _, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        return i >= 0 and w < self._ends[i]

    def next_on_duty(self, t: float) -> float:
        if self.always_on:
            return t
        base, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        if i >= 0 and w < self._ends[i]:
            return t
        if i + 1 < len(self._starts):
            return base + self._starts[i + 1]
        return base + HOURS_PER_WEEK + self._starts[0]

    def shift_end(self, t: float) -> float:
        if self.always_on:
            return float("inf")
        base, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        if i >= 0 and w < self._ends[i]:
            if self._ends[i] == HOURS_PER_WEEK and self._starts[0] == 0.0:
                return base + HOURS_PER_WEEK + self._ends[0]  # a Sunday night shift runs into Monday
            return base + self._ends[i]
        return t

    @functools.cached_property
    def working_days_per_year(self) -> float:
        return 365.0 / 7.0 * sum(1 for d in range(7) if self.hours_on_day(d) > 0)

    def hours_on_day(self, day: int) -> float:
        weekday = day % 7
        if weekday not in self._day_hours:
            self._day_hours[weekday] = self.working_hours_before((day + 1) * 24.0) - self.working_hours_before(day * 24.0)
        return self._day_hours[weekday]


def _lay_out(intervals, holidays, span: float) -> tuple[list[float], list[float]]:
    """Clip intervals to [0, span), cut out holidays and join intervals that touch."""
    pieces = []
    for s, e in intervals:
        s, e = max(s, 0.0), min(e, span)
        if holidays:
            pieces.extend(_cut_holidays(s, e, holidays))
        elif e > s:
            pieces.append((s, e))
    merged = _merge(sorted(pieces))
    return [s for s, _ in merged], [e for _, e in merged]


def _cut_holidays(s: float, e: float, holidays):
    """The parts of [s, e) on days that are not holidays."""
    day = int(s // 24.0)
    while s < e:
        day_end = min(e, (day + 1) * 24.0)
        if day not in holidays and day_end > s:
            yield s, day_end
        s, day = day_end, day + 1


def _merge(intervals):
    merged = []
    for s, e in intervals:
        if e <= s:
            continue
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
