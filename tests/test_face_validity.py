"""Face validity: the directions the sources and queueing theory give, on common random numbers.

Each comparison runs both variants on the same replication seeds and tests the paired
difference with its 95% CI (scipy t interval), so the direction is shown, not just a mean.
"""

import numpy as np
import pandas as pd
import pytest

from sim import scenario
from sim.metrics import mean_ci
from sim.runner import replication_seeds, run_many

REPS = 6
SHORT = ["horizon.days=150", "horizon.warmup_days=14"]


def _paired(a_file, b_file, a_sets=(), b_sets=(), seed=42):
    a = scenario.load(a_file, [*SHORT, *a_sets])
    b = scenario.load(b_file, [*SHORT, *b_sets])
    seeds = replication_seeds(seed, REPS)
    done = run_many([(s, ss, i) for s in (a, b) for i, ss in enumerate(seeds)], workers=2, progress=False, label="")
    return done[:REPS], done[REPS:]


def _diff(a, b, kpi):
    return mean_ci([rb.kpis[kpi] - ra.kpis[kpi] for ra, rb in zip(a, b)])


def _security_wait_hours(rep):
    c = rep.cases
    c = c[(c["type"] == "security_matter") & c["handle_started"].notna() & (c["discovered"] >= 14 * 24)]
    return float((c["handle_started"] - c["dispatched"]).mean())


def test_pooling_separate_security_lines_does_not_raise_mean_wait():
    """11 separate lines vs one pool of the same 13 community workers (001's "four rooms")."""
    separate, pooled = _paired("scenarios/reform_2015.yaml", "scenarios/reform_2015.yaml",
                               ["staffing.community_workers.lines=11"], ["staffing.community_workers.lines=1"])
    diffs = [_security_wait_hours(p) - _security_wait_hours(s) for s, p in zip(separate, pooled)]
    mean, lo, hi = mean_ci(diffs)
    assert hi < 0, f"pooled - separate mean wait: {mean:.2f} h, 95% CI [{lo:.2f}, {hi:.2f}]"


def test_one_party_worker_per_150_lowers_utilisation_against_one_per_200():
    per200, per150 = _paired("scenarios/reform_2015.yaml", "scenarios/reform_2015.yaml",
                             ["staffing.party_workers.per=200"], ["staffing.party_workers.per=150"])
    mean, lo, hi = _diff(per200, per150, "utilisation_party_workers")
    assert hi < 0, f"utilisation 1:150 - 1:200 = {mean:.3f}, CI [{lo:.3f}, {hi:.3f}]"


def test_unfunded_devolution_raises_admin_share_and_lowers_on_time_rate():
    reform, unfunded = _paired("scenarios/reform_2015.yaml", "scenarios/devolution_unfunded.yaml")
    mean, lo, hi = _diff(reform, unfunded, "admin_share_committee_workers")
    assert lo > 0, f"admin share difference {mean:.3f}, CI [{lo:.3f}, {hi:.3f}]"
    mean, lo, hi = _diff(reform, unfunded, "on_time_resident")
    assert hi < 0, f"on-time difference {mean:.4f}, CI [{lo:.4f}, {hi:.4f}]"


@pytest.fixture(scope="module")
def reform_year():
    settings = scenario.load("scenarios/reform_2015.yaml", ["horizon.days=180"])
    reps = run_many([(settings, ss, i) for i, ss in enumerate(replication_seeds(5, 4))], 2, False, "")
    return settings, reps


def test_on_time_rate_is_below_closure_rate_when_deadlines_bind(reform_year):
    _, reps = reform_year
    for r in reps:
        assert r.kpis["on_time_resident"] < r.kpis["closure_rate"]
    # and with the district's slower dispatch, deadlines bind much harder (Tianmen: 75.8% vs 93.7%)
    baseline = scenario.load("scenarios/baseline_2013.yaml", ["horizon.days=90"])
    k = run_many([(baseline, replication_seeds(5, 1)[0], 0)], 1, False, "")[0].kpis
    assert k["on_time_resident"] < k["closure_rate"] - 0.1


# Calibration bands from domain.md's outside figures (see scenarios/README.md).
BANDS = {
    "requests_per_resident_per_year": (0.2, 0.6),   # 12345 Shanghai 0.36; NYC 311 0.4
    "grid_cases_per_resident_per_year": (0.2, 0.6),  # Kunming ~0.29; Chengdu 15/supervisor/day ~0.56
    "reports_per_supervisor_per_day": (3.0, 15.0),  # Chengdu ~15 at most
    "patrol_discovery_share": (0.95, 0.99),         # Tianmen 95.7%, Kunming 97.6%
    "on_spot_share": (0.12, 0.22),                  # Kunming ~17%
}


def calibration(settings, rep) -> dict:
    c = rep.cases
    c = c[c["discovered"] >= settings.horizon.warmup_days * 24]
    years = (settings.horizon.days - settings.horizon.warmup_days) / 365.0
    days = settings.horizon.days - settings.horizon.warmup_days
    residents = settings.street.residents
    grid = c[c["source"] == "grid"]
    supervisors = settings.staffing["grid_supervisors"].count
    return {
        "requests_per_resident_per_year": (c["source"] == "residents").sum() / residents / years,
        "grid_cases_per_resident_per_year": len(grid) / residents / years,
        "reports_per_supervisor_per_day": (grid["channel"] == "patrol").sum() / supervisors / days,
        "patrol_discovery_share": rep.kpis["patrol_discovery_share"],
        "on_spot_share": rep.kpis["on_spot_share"],
    }


def test_reform_scenario_stays_inside_the_outside_figures(reform_year):
    settings, reps = reform_year
    table = pd.DataFrame([calibration(settings, r) for r in reps])
    for name, (lo, hi) in BANDS.items():
        m = float(np.mean(table[name]))
        assert lo <= m <= hi, f"{name} = {m:.3f}, outside [{lo}, {hi}]"
