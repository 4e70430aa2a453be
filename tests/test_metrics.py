"""KPIs from a hand-made case table: each measure's definition, checked on numbers worked by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from sim import metrics


def _table(rows):
    cols = ["type", "source", "channel", "area", "resident", "arose", "discovered", "fixed", "closed", "reported_closed",
            "deadline", "resident_deadline", "satisfaction", "reopens", "bounces", "on_spot", "escalated", "evaluated"]
    df = pd.DataFrame(rows, columns=cols)
    df["closed_flag"] = df["closed"].notna() & df["evaluated"].notna()
    df["on_time"] = df["closed_flag"] & (df["closed"] <= df["deadline"])
    df["on_time_resident"] = df["closed_flag"] & (df["fixed"] <= df["resident_deadline"])
    df["on_time_reported"] = df["reported_closed"].notna() & (df["reported_closed"] <= df["deadline"])
    return df


nan = math.nan
ROWS = [
    # type  source channel area res arose disc fixed closed reported deadline res_deadline sat reopens bounces on_spot esc evaluated
    ("a", "grid", "patrol", 0, -1, 10, 30, 40, 41, 41, 50, 45, 0.9, 0, 0, False, False, 41),  # on time both ways
    ("a", "grid", "patrol", 0, -1, 10, 30, 60, 61, 61, 70, 50, 0.9, 0, 0, False, False, 61),  # standard yes, resident no
    ("b", "residents", "committee", 0, 5, 40, 40, 90, 90, 50, 60, 60, 0.5, 1, 0, False, False, 90),  # gamed: reported on time
    ("b", "residents", "hotline", 1, 5, 40, 40, nan, nan, nan, 60, 60, nan, 0, 0, False, False, nan),  # open past deadline
    ("b", "residents", "committee", 0, 5, 50, 50, 60, 60, 60, 100, 100, 0.7, 0, 0, False, False, 60),  # same resident again
    ("a", "grid", "patrol", 0, -1, 5, 8, 9, 9, 9, 50, 50, 0.9, 0, 0, True, False, 9),  # before the warm-up: excluded
]


def test_two_on_time_measures_and_the_reported_ones():
    k = metrics.case_kpis(_table(ROWS), warmup_hours=10, end=200)
    assert k["cases_arrived"] == 5 and k["cases_closed"] == 4
    assert k["on_time_standard"] == pytest.approx(3 / 5)  # rows 1, 2, 5 closed by the deadline; 4 open past it
    assert k["on_time_resident"] == pytest.approx(2 / 5)  # rows 1 and 5 fixed in the resident's allowance
    assert k["on_time_reported"] == pytest.approx(4 / 5)  # row 3 was reported closed at 50
    assert k["closure_rate"] == pytest.approx(4 / 5)
    assert k["wait_mean_days"] == pytest.approx(np.mean([30, 50, 50, 10]) / 24)  # arose -> fixed


def test_resident_satisfaction_averages_over_residents_not_cases():
    k = metrics.case_kpis(_table(ROWS), warmup_hours=10, end=200)
    # one resident (area 0, resident 5) had two cases: 0.5 and 0.7 -> 0.6; grid cases have no resident
    assert k["resident_satisfaction"] == pytest.approx(0.6)


def test_cost_is_per_year_whatever_the_horizon():
    roles = pd.DataFrame([{"role": "x", "posts": 3, "exits": 0, "cost_per_year": 80000.0, "available": 100.0, "absent": 0.0,
                           "overtime": 0.0, **{a: 10.0 for a in metrics.ACTIVITY_KPIS}}])

    k = metrics.role_kpis(roles, {"x": [0.0, 1.0, 3.0]})
    assert k["staff_cost_per_year"] == 240000.0
    assert k["queue_wait_hours_x"] == pytest.approx(4 / 3)
    assert k["queue_waited_share_x"] == pytest.approx(2 / 3)
    assert k["utilisation_x"] == pytest.approx(10 * len(metrics.ACTIVITY_KPIS) / 100)


def test_a_table_already_without_the_warm_up_is_read_as_it_is():
    # A district's pooled cases come without the warm-up's (millions of rows for a city): the
    # KPIs read that table itself rather than a filtered copy, and agree with the whole table's.
    whole = _table(ROWS)
    pooled = whole[whole["discovered"] >= 10].reset_index(drop=True)
    assert metrics.after_warmup(pooled, 10) is pooled
    assert len(metrics.after_warmup(whole, 10)) == 5
    for kpis in (lambda t: metrics.case_kpis(t, 10, 200), lambda t: metrics.type_kpis(t, 10, 200, ["a", "b"])):
        a, b = kpis(whole), kpis(pooled)
        assert a.keys() == b.keys()
        assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a), (a, b)
