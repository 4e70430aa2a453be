"""Grids: patrol is the supervisors' work, spread over the shift; residents report the rest."""

import numpy as np
import pytest

from sim import scenario
from sim.runner import replication_seeds, run_replication

SMALL = "tests/scenarios/small_street.yaml"


def _run(sets=()):
    settings = scenario.load(SMALL, list(sets))
    return settings, run_replication(settings, replication_seeds(3, 1)[0])


def test_patrol_passes_take_supervisors_time():
    """Each supervisor walks 2 passes of 1.5 h on each working day, plus reports and fixes."""
    settings, rep = _run()
    roles = rep.roles.set_index("role")
    days = settings.horizon.days - settings.horizon.warmup_days
    walked = 2 * 1.5 * days * settings.staffing["grid_supervisors"].count
    grid = rep.cases[(rep.cases["channel"] == "patrol") & (rep.cases["discovered"] >= 7 * 24)]
    filing = 0.1 * len(grid) + 0.25 * grid["on_spot"].sum()
    absent_days = roles.loc["grid_supervisors", "absent"] / 9.0
    expected = walked * (1 - absent_days / days) + filing
    assert roles.loc["grid_supervisors", "patrol"] == pytest.approx(expected, rel=0.05)


def test_on_the_spot_fixes_take_the_supervisors_time():
    """Bug 6: on-the-spot fixes booked supervisor hours that occupied nobody."""
    _, none = _run(["case_types.street_environment.on_spot_fix_share=0", "case_types.street_order.on_spot_fix_share=0",
                    "case_types.advertising.on_spot_fix_share=0", "loop.discovery.on_spot_fix.mean_hours=1.0"])
    _, all_ = _run(["case_types.street_environment.on_spot_fix_share=1", "case_types.street_order.on_spot_fix_share=1",
                    "case_types.advertising.on_spot_fix_share=1", "loop.discovery.on_spot_fix.mean_hours=1.0"])
    fixed = all_.cases[all_.cases["on_spot"] & (all_.cases["discovered"] >= 7 * 24)]
    extra = all_.roles.set_index("role").loc["grid_supervisors", "patrol"] - none.roles.set_index("role").loc["grid_supervisors", "patrol"]
    assert extra == pytest.approx(len(fixed) * 1.0, rel=0.1)


def test_patrol_reports_are_spread_over_the_shift():
    """79% of grid cases used to surface at one instant (12:30); now along the passes."""
    _, rep = _run()
    patrol = rep.cases[rep.cases["channel"] == "patrol"]
    hours = np.round(patrol["discovered"] % 24, 2)
    assert hours.value_counts(normalize=True).iloc[0] < 0.05
    assert hours.min() >= 8.0 and hours.max() <= 17.0 + 3  # within the shift (plus a late pass's overrun)


def test_community_police_patrol_their_area_and_take_its_cases():
    settings, rep = _run()
    police = rep.roles.set_index("role").loc["police"]
    assert police["patrol"] == pytest.approx(0.3 * police["available"], rel=0.02)
    mine = rep.cases[rep.cases["type"] == "neighbourhood_policing"]
    assert len(mine) > 10 and (mine["handler_role"] == "police").all()
