"""Working calendars: shifts, working time and deadlines.

Simulation time is in hours from the start of day 0. A calendar is a weekly pattern of
on-duty intervals; every question the model asks of it ("is this worker on duty?",
"when does 4 working hours from now end?") is answered by arithmetic on the week's
cumulative working time, so no SimPy event is spent on shift changes. Deadlines count
working time, as the national standard CJ/T 315 does.
"""

from __future__ import annotations

import functools
from bisect import bisect_right

HOURS_PER_WEEK = 168.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Calendar:
    """A weekly on-duty pattern.

    ``shifts`` is a list of ``(weekday_indexes, start_hour, end_hour)``; ``start_weekday`` is the
    weekday of simulation day 0 (0 = Monday).
    """

    def __init__(self, name: str, shifts, start_weekday: int = 0):
        self.name = name
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

    # -- internal: time within the week ---------------------------------------------------
    def _split(self, t: float) -> tuple[float, float]:
        shifted = t + self._offset
        week = shifted // HOURS_PER_WEEK
        return week * HOURS_PER_WEEK - self._offset, shifted - week * HOURS_PER_WEEK

    def working_hours_before(self, t: float) -> float:
        """Working hours from time 0 (of a virtual week-aligned origin) up to ``t``."""
        if self.always_on:
            return t
        base, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        within = 0.0 if i < 0 else self._cum[i] + min(w, self._ends[i]) - self._starts[i]
        return (base + self._offset) / HOURS_PER_WEEK * self.hours_per_week + within

    def at_working_hours(self, target: float) -> float:
        """Inverse of :meth:`working_hours_before`: the earliest time with that much work done."""
        if self.always_on:
            return target
        weeks, rest = divmod(target, self.hours_per_week)
        i = bisect_right(self._cum, rest) - 1
        if rest > self._cum[i]:
            w = self._starts[i] + rest - self._cum[i]
        elif i > 0:  # exactly on a boundary: the work ended with the previous interval
            w = self._ends[i - 1]
        elif weeks > 0:  # ... which was the last interval of the previous week
            weeks -= 1
            w = self._ends[-1]
        else:
            w = self._starts[0]
        return weeks * HOURS_PER_WEEK - self._offset + w

    # -- what the model asks ----------------------------------------------------------------
    def add_working_hours(self, t: float, hours: float) -> float:
        """The time at which ``hours`` of working time, starting at ``t``, are done."""
        if self.always_on:
            return t + hours
        if hours <= 0:
            return t
        return self.at_working_hours(self.working_hours_before(t) + hours)

    def working_hours_between(self, a: float, b: float) -> float:
        if self.always_on:
            return b - a
        return self.working_hours_before(b) - self.working_hours_before(a)

    def on_duty(self, t: float) -> bool:
        if self.always_on:
            return True
        _, w = self._split(t)
        i = bisect_right(self._starts, w) - 1
        return i >= 0 and w < self._ends[i]

    def next_on_duty(self, t: float) -> float:
        """``t`` if on duty, else the start of the next working interval."""
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
        """End of the working interval containing ``t`` (``t`` itself when off duty)."""
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
            self._day_hours[weekday] = self.working_hours_between(day * 24.0, (day + 1) * 24.0)
        return self._day_hours[weekday]


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
