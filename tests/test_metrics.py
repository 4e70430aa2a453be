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
    # Resident 5 of area 0 had two cases (0.5 and 0.7: their mean 0.6); resident 5 of area 1, another
    # person with the same number, one (0.9). Over residents (0.6 + 0.9) / 2 = 0.75; over cases, or
    # over resident numbers without their area, (0.5 + 0.7 + 0.9) / 3 = 0.70. Grid cases have no resident.
    other = ("b", "residents", "committee", 1, 5, 70, 70, 80, 80, 80, 100, 100, 0.9, 0, 0, False, False, 80)
    k = metrics.case_kpis(_table([*ROWS, other]), warmup_hours=10, end=200)
    assert k["resident_satisfaction"] == pytest.approx(0.75, abs=1e-12)


def test_cost_is_per_year_whatever_the_horizon():
    # Every activity staff time goes on, its hours written out here (not read from the code's list):
    # 30 + 5 + 12 + 8 + 4 + 6 = 65 h worked, 5 of them overtime (not counted against the 100 h available).
    hours = {"casework": 30.0, "travel": 5.0, "patrol": 12.0, "devolved_tasks": 8.0, "investment_promotion": 4.0,
             "data_collection": 6.0}
    roles = pd.DataFrame([{"role": "x", "posts": 3, "exits": 0, "cost_per_year": 80000.0, "available": 100.0, "absent": 0.0,
                           "overtime": 5.0, **hours}])

    k = metrics.role_kpis(roles, {"x": [0.0, 1.0, 3.0]})
    assert k["staff_cost_per_year"] == 240000.0
    assert k["queue_wait_hours_x"] == pytest.approx(4 / 3)
    assert k["queue_waited_share_x"] == pytest.approx(2 / 3)
    assert k["utilisation_x"] == pytest.approx((65 - 5) / 100, abs=1e-12)
    assert k["casework_share_x"] == pytest.approx((30 + 5) / 100, abs=1e-12)  # casework and its travel
    assert k["admin_share_x"] == pytest.approx((8 + 6) / 100, abs=1e-12)  # devolved tasks and data collection


def test_a_table_already_without_the_warm_up_is_read_as_it_is():
    # A run without a warm-up (a 1M-resident street-year is 670,000 cases): the KPIs read the
    # table itself rather than a filtered copy, and agree with the whole table's.
    whole = _table(ROWS)
    after = whole[whole["discovered"] >= 10].reset_index(drop=True)
    assert metrics.after_warmup(after, 10) is after
    assert len(metrics.after_warmup(whole, 10)) == 5
    a, b = metrics.case_kpis(whole, 10, 200, ["a", "b"]), metrics.case_kpis(after, 10, 200, ["a", "b"])
    assert a.keys() == b.keys()
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) for k in a), (a, b)


def _street(rng, n):
    """A street's cases with irregular times (sums and means that depend on their order)."""
    arose = 10 + rng.uniform(0, 100, n)
    fixed = np.where(rng.random(n) < 0.8, arose + rng.exponential(30, n), nan)
    rows = [(rng.choice(["a", "b"]), rng.choice(["grid", "residents"]), rng.choice(["patrol", "committee", "hotline"]),
             int(rng.integers(3)), int(rng.integers(-1, 6)), arose[i], arose[i], fixed[i], fixed[i], fixed[i],
             arose[i] + 40, arose[i] + 35, rng.random(), int(rng.integers(2)), int(rng.integers(3)), bool(rng.random() < .2),
             bool(rng.random() < .1), fixed[i]) for i in range(n)]  # fmt: skip
    return _table(rows)


def test_streets_combined_give_the_kpis_of_their_cases_as_one_table():
    """A district's case KPIs combine its streets' totals (a city year's 16 M cases are never one
    table). They are the KPIs of the streets' cases put in one table, to the last digit."""
    rng = np.random.default_rng(3)
    streets = [_street(rng, 400), _street(rng, 1), _street(rng, 3).iloc[0:0], _street(rng, 250)]  # one case; none
    # in one table, each street's residents are other people: number their areas apart
    one = pd.concat([s.assign(area=s["area"] + 10 * k) for k, s in enumerate(streets)], ignore_index=True)
    combined = metrics.case_kpis_of([metrics.case_totals(s, 20, 150) for s in streets], ["a", "b", "c"])
    whole = metrics.case_kpis(one, 20, 150, ["a", "b", "c"])
    assert combined.keys() == whole.keys()
    assert all(combined[k] == whole[k] or (math.isnan(combined[k]) and math.isnan(whole[k])) for k in whole), (combined, whole)
    assert whole["cases_closed"] > 400 and 0 < whole["resident_satisfaction"] < 1 and math.isnan(whole["type_wait_hours_c"])
    # and those KPIs are what they say, worked out here from the one table
    after = one[one["discovered"] >= 20]
    closed, grid = after[after["closed_flag"]], after[after["source"] == "grid"]
    assert whole["cases_arrived"] == len(after) and whole["cases_closed"] == len(closed)
    assert whole["wait_mean_days"] == pytest.approx(((closed["fixed"] - closed["arose"]) / 24).mean(), rel=1e-12)
    assert whole["bounces_per_case"] == pytest.approx(after["bounces"].mean(), rel=1e-12)
    assert whole["reopen_rate"] == pytest.approx((closed["reopens"] > 0).mean(), rel=1e-12)
    assert whole["patrol_discovery_share"] == pytest.approx((grid["channel"] == "patrol").mean(), rel=1e-12)
    assert whole["on_spot_share"] == pytest.approx(grid["on_spot"].mean(), rel=1e-12)
    assert whole["hotline_escalation_rate"] == pytest.approx(after["escalated"].mean(), rel=1e-12)
    a = closed[closed["type"] == "a"]
    assert whole["type_wait_hours_a"] == pytest.approx((a["fixed"] - a["arose"]).mean(), rel=1e-12)
