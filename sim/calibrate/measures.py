"""Quantities a district observes that are not KPI columns: rates per resident, per supervisor,
per month, and how a role's worked time splits. Computed from a replication's case and role
tables, in the sweep worker (``worker.Context.measures``), so calibration runs keep only numbers.

Every rate counts cases that surfaced after the warm-up, over the days after the warm-up.
"""

from __future__ import annotations

import math

from sim.metrics import ACTIVITY_KPIS

MEASURES_PATH = "sim.calibrate.measures:measure"  # what the sweep worker calls
DAYS_PER_MONTH = 365.0 / 12.0
DIRECT_WORK = ("casework", "travel")  # CWLA's "direct work": time on cases, including getting there
# assumption: a case discovered 14 days before a run ends has had time to close (reported closure
# took 5.6 days on average, 13 at the 90th percentile, at about the shipped calibration's values).
# A city's yearly closure rate counts its few cases of the year's last days; a 61-day window's
# KPI counts a sixth of them (0.870 against 0.967 settled, one run at those values).
SETTLED_DAYS = 14


def measure_names(settings) -> list[str]:
    """Every quantity ``measure`` returns for this scenario (what an observed file may name)."""
    sources = sorted({ct.source for ct in settings.case_types.values()})
    return [
        "grid_cases_per_resident_per_year",
        "requests_per_resident_per_year",
        "reports_per_supervisor_per_day",
        "hotline_orders_per_resident_per_year",
        "closure_rate_reported_settled",
        *[f"cases_per_month_{s}" for s in sources],
        *[f"direct_work_share_{r}" for r in settings.staffing],
    ]


def measure(settings, rep) -> dict[str, float]:
    """The replication's measures; ``rep`` is a runner.Replication run with its cases kept."""
    h = settings.horizon
    days = h.days - h.warmup_days
    years = days / 365.0
    residents = settings.street.residents
    cases = rep.cases[rep.cases["discovered"] >= h.warmup_days * 24.0]
    grid = cases[cases["source"] == "grid"]
    out = {
        "grid_cases_per_resident_per_year": len(grid) / residents / years,
        "requests_per_resident_per_year": int((cases["source"] == "residents").sum()) / residents / years,
        "reports_per_supervisor_per_day": _ratio(int((grid["channel"] == "patrol").sum()), _supervisors(rep.roles, settings) * days),
        "hotline_orders_per_resident_per_year": _hotline_orders(rep, cases) / residents / years,
        "closure_rate_reported_settled": _settled_closure(cases, h.days),
    }
    for source in sorted({ct.source for ct in settings.case_types.values()}):
        out[f"cases_per_month_{source}"] = int((cases["source"] == source).sum()) / (days / DAYS_PER_MONTH)
    for row in rep.roles.itertuples(index=False):
        worked = sum(getattr(row, a, 0.0) for a in ACTIVITY_KPIS)
        out[f"direct_work_share_{row.role}"] = _ratio(sum(getattr(row, a, 0.0) for a in DIRECT_WORK), worked)
    return out


def _settled_closure(cases, horizon_days: int) -> float:
    """closure_rate_reported over the cases discovered at least SETTLED_DAYS before the run ends:
    the share reported closed (as the KPI counts them, gamed closures too) among cases that have
    had time to close, as in a city's yearly rate."""
    settled = cases[cases["discovered"] <= (horizon_days - SETTLED_DAYS) * 24.0]
    return _ratio(int(settled["reported_closed"].notna().sum()), len(settled))


def _supervisors(roles, settings) -> int:
    kinds = {name: role.kind for name, role in settings.staffing.items()}
    return int(roles.loc[roles["role"].map(kinds) == "grid_supervisor", "posts"].sum())


def _hotline_orders(rep, cases) -> float:
    """12345 work orders: the model's own KPI where it reports one, else cases that came in by
    the hotline or were escalated to it."""
    if "hotline_orders" in rep.kpis:
        return float(rep.kpis["hotline_orders"])
    return float(((cases["channel"] == "hotline") | cases["escalated"].astype(bool)).sum())


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else math.nan
