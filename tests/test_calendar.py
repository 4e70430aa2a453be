"""Working-time calendars (sim.calendar), checked against a brute-force reference.

The reference lists every on-duty interval day by day and answers each question by a linear scan,
so it shares no arithmetic with the calendar's bisects over laid-out arrays. Random queries fall
before, inside and past the laid-out span, and on interval boundaries, where off-by-one errors live.
"""

import random

import pytest

from sim.calendar import Calendar

WEEKDAYS_ONLY = [0, 1, 2, 3, 4]
EVERY_DAY = list(range(7))
OFFICE = Calendar("office", [(WEEKDAYS_ONLY, 8.5, 17.0)], start_weekday=0)  # day 0 = Monday

PATTERNS = {
    "office": [(WEEKDAYS_ONLY, 8.5, 17.0)],
    "patrol": [(EVERY_DAY, 8.0, 17.0)],
    # reform_2015's staggered early and late shifts together, overlapping on weekdays
    "staggered": [(WEEKDAYS_ONLY, 8.0, 16.5), ([1, 2, 3, 4], 11.5, 20.0), ([5], 9.0, 17.5)],
    "split_day": [(WEEKDAYS_ONLY, 8.0, 12.0), (WEEKDAYS_ONLY, 13.5, 17.5), ([5], 9.0, 12.0)],
    "night_over_sunday": [([6], 16.0, 24.0), ([0], 0.0, 8.0), ([2], 20.0, 24.0), ([3], 0.0, 6.0)],
}
SPAN_DAYS = 63  # a short laid-out span, so many queries fall past it
QUERY_DAYS = 150  # queries fall in the week before day 0 up to this day
REFERENCE_DAYS = 260  # far enough past QUERY_DAYS for 300 working hours at 22 h a week


class Reference:
    """Every on-duty interval from two weeks before day 0 to ``days``, merged where they touch."""

    def __init__(self, shifts, start_weekday: int, holidays, days: int = REFERENCE_DAYS):
        raw = []
        for day in range(-14, days):
            if day in holidays:
                continue
            weekday = (start_weekday + day) % 7
            raw += [(day * 24.0 + s, day * 24.0 + e) for days_on, s, e in shifts if weekday in days_on]
        self.intervals = []
        for s, e in sorted(raw):
            if self.intervals and s <= self.intervals[-1][1]:
                self.intervals[-1] = (self.intervals[-1][0], max(self.intervals[-1][1], e))
            else:
                self.intervals.append((s, e))

    def on_duty(self, t):
        return any(s <= t < e for s, e in self.intervals)

    def next_on_duty(self, t):
        return t if self.on_duty(t) else min(s for s, _ in self.intervals if s > t)

    def shift_end(self, t):
        return next((e for s, e in self.intervals if s <= t < e), t)

    def working_hours_between(self, a, b):
        return sum(max(0.0, min(e, b) - max(s, a)) for s, e in self.intervals)

    def add_working_hours(self, t, hours):
        if hours <= 0:
            return t
        for s, e in self.intervals:
            if e <= t:
                continue
            start = max(s, t)
            if e - start >= hours:
                return start + hours
            hours -= e - start
        raise AssertionError("query past the reference's days")


def random_queries(reference, n, rng):
    """Times before, inside and past the span, half of them exactly on an interval boundary."""
    boundaries = [x for iv in reference.intervals for x in iv if -7 * 24 < x < QUERY_DAYS * 24]
    times = []
    for _ in range(n):
        if rng.random() < 0.5:
            times.append(rng.choice(boundaries))
        else:
            times.append(rng.uniform(-7 * 24, QUERY_DAYS * 24))
    return times


CASES = [
    (name, start_weekday, holidays)
    for name in PATTERNS
    for start_weekday, holidays in [(0, ()), (3, ()), (0, (0, 1, 2, 30, 31, 32, 33, 34, 35, 36)), (6, (5, 6, 40, 62))]
]


@pytest.mark.parametrize("name,start_weekday,holidays", CASES)
def test_queries_agree_with_brute_force(name, start_weekday, holidays):
    shifts = PATTERNS[name]
    cal = Calendar(name, shifts, start_weekday, holidays=holidays, span_days=SPAN_DAYS)
    ref = Reference(shifts, start_weekday, set(holidays))
    rng = random.Random(f"{name} {start_weekday} {holidays}")  # a str seed is stable across runs
    for t in random_queries(ref, 250, rng):
        hours = rng.choice([0.0, 0.5, 8.5, rng.uniform(0, 80), rng.uniform(0, 300)])
        u = t + rng.uniform(0, 500)
        where = f"{name} start={start_weekday} holidays={holidays} t={t} hours={hours}"
        assert cal.on_duty(t) == ref.on_duty(t), where
        assert cal.next_on_duty(t) == pytest.approx(ref.next_on_duty(t), abs=1e-9), where
        assert cal.shift_end(t) == pytest.approx(ref.shift_end(t), abs=1e-9), where
        assert cal.add_working_hours(t, hours) == pytest.approx(ref.add_working_hours(t, hours), abs=1e-9), where
        assert cal.working_hours_between(t, u) == pytest.approx(ref.working_hours_between(t, u), abs=1e-9), where
    for day in range(-3, QUERY_DAYS):
        assert cal.hours_on_day(day) == pytest.approx(ref.working_hours_between(day * 24.0, day * 24.0 + 24.0)), day


def test_default_span_covers_a_year_and_holidays_stretch_it():
    cal = Calendar("office", PATTERNS["office"], holidays=(900,))
    assert cal.hours_on_day(900) == 0.0 and cal.hours_on_day(900 + 7) == 8.5  # day 900 is a Tuesday
    assert Calendar("office", PATTERNS["office"]).hours_on_day(900) == 8.5


def test_working_hours_skip_nights_and_weekends():
    friday_4pm = 4 * 24 + 16.0
    # 1 h left on Friday, 8.5 h on Monday, 0.5 h on Tuesday -> Tuesday 9:00.
    assert OFFICE.add_working_hours(friday_4pm, 10.0) == pytest.approx(8 * 24 + 9.0)
    assert OFFICE.working_hours_between(0, 7 * 24) == pytest.approx(42.5)
    assert OFFICE.next_on_duty(5 * 24 + 10) == pytest.approx(7 * 24 + 8.5)  # Saturday -> Monday
    assert OFFICE.on_duty(8.5) and not OFFICE.on_duty(17.0)


def test_work_ending_at_close_of_day_ends_then_not_next_morning():
    assert OFFICE.add_working_hours(8.5, 8.5) == pytest.approx(17.0)
    assert OFFICE.add_working_hours(4 * 24 + 8.5, 8.5) == pytest.approx(4 * 24 + 17.0)  # Friday, not Monday


def test_a_shift_over_sunday_midnight_ends_on_monday_morning():
    night = Calendar("night", [([6], 16.0, 24.0), ([0], 0.0, 8.0)], start_weekday=0)
    assert night.shift_end(6 * 24 + 20.0) == pytest.approx(7 * 24 + 8.0)


def test_calendar_respects_the_weekday_the_run_starts_on():
    wednesday_start = Calendar("office", [(WEEKDAYS_ONLY, 8.5, 17.0)], start_weekday=2)
    assert wednesday_start.hours_on_day(3) == 0.0  # day 3 is a Saturday
    assert wednesday_start.hours_on_day(5) == 8.5  # Monday


def test_a_holiday_moves_work_to_the_next_working_day():
    national_day = Calendar("office", [(WEEKDAYS_ONLY, 8.5, 17.0)], holidays=(2,))  # Wednesday off
    assert not national_day.on_duty(2 * 24 + 10.0)
    assert national_day.next_on_duty(2 * 24 + 10.0) == pytest.approx(3 * 24 + 8.5)
    assert national_day.add_working_hours(24 + 16.0, 2.0) == pytest.approx(3 * 24 + 9.5)  # Tue 16:00 + 2 h
    assert national_day.working_days_per_year == pytest.approx(365 / 7 * 5)  # the weekly pattern's rate


def test_a_calendar_with_no_hours_is_refused():
    with pytest.raises(ValueError, match="no working hours"):
        Calendar("never", [([], 8.0, 17.0)])
