"""KPIs, confidence intervals and conservation checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.cases import CASE_COLUMNS, STAGE_COLUMNS, STAGE_INDEX, STAGES

ACTIVITY_KPIS = ("casework", "travel", "devolved_tasks", "investment_promotion", "data_collection")
CASE_KPIS = (
    "cases_arrived", "cases_closed", "cases_open_at_end", "closure_rate", "on_time_rate",
    "mean_days_to_close", "p90_days_to_close", "reopen_rate", "bounces_per_case",
    "patrol_discovery_share", "on_spot_share", "hotline_escalation_rate", "resident_satisfaction",
)  # fmt: skip
STREET_KPIS = ("resident_trust_end", "problems_undiscovered_at_end", "purchased_services_cost")
SURVEY_KPIS = ("survey_satisfaction", "survey_satisfaction_se")
ROLE_KPI_PREFIXES = ("utilisation_", "admin_share_", "overtime_hours_", "staff_", "exits_")
TOTAL_KPIS = ("staff_total", "staff_cost")


def kpi_names(settings) -> list[str]:
    """Every KPI a replication of this scenario reports, in summary.csv's column order."""
    survey_kpis = SURVEY_KPIS if settings.survey.respondents > 0 else ()
    roles = [p + r for r in settings.staffing for p in ROLE_KPI_PREFIXES]
    return [*CASE_KPIS, *STREET_KPIS, *survey_kpis, *roles, *TOTAL_KPIS]


class ConservationError(AssertionError):
    """Cases were lost: arrived != closed + open at end."""


def case_table(model) -> pd.DataFrame:
    """One row per case: its type, class, channel, each step's time (hours), handler, bounces."""
    end = model.env.now
    cols = {c: [getattr(case, c) for case in model.cases] for c in CASE_COLUMNS}
    stage_times = np.array([case.time_in for case in model.cases], dtype=float).reshape(-1, len(STAGE_COLUMNS))
    # A case still open counts its time in its current stage up to the end of the run.
    for i, case in enumerate(model.cases):
        if case.step in STAGE_INDEX:
            stage_times[i, STAGE_INDEX[case.step]] += end - case.entered
    for j, name in enumerate(STAGE_COLUMNS):
        cols[name] = stage_times[:, j]
    df = pd.DataFrame(cols)
    df["closed_flag"] = df["closed"].notna() & df["evaluated"].notna()
    df["on_time"] = df["closed_flag"] & (df["closed"] <= df["deadline"])
    for c in ("type", "category", "source", "handling_class", "channel", "handler_role"):
        df[c] = df[c].astype("category")
    return df


def check_conservation(arrived: int, closed: int, open_at_end: int) -> None:
    if arrived != closed + open_at_end:
        raise ConservationError(f"cases lost: arrived {arrived} != closed {closed} + open {open_at_end}")


def kpis(model, cases: pd.DataFrame, roles: pd.DataFrame) -> dict[str, float]:
    """The replication's KPIs (stable snake_case names), over cases surfacing after warm-up."""
    s = model.settings
    check_conservation(len(cases), int(cases["closed_flag"].sum()), model.open_cases())
    check_conservation(len(cases), model.closed_count, model.open_cases())
    out = case_kpis(cases, s.horizon.warmup_days * 24.0, model.env.now)
    out["resident_trust_end"] = float(np.mean([a.trust.mean() for a in model.areas]))
    out["problems_undiscovered_at_end"] = sum(g.undiscovered for g in model.grids)
    ps = s.levers.purchased_services
    years = (s.horizon.days - s.horizon.warmup_days) / 365.0
    out["purchased_services_cost"] = ps.cost_per_year * years if ps.enabled else 0.0
    out.update(survey(model))
    out.update(role_kpis(roles, (s.horizon.days - s.horizon.warmup_days) / 365.0))
    return out


def case_kpis(cases: pd.DataFrame, warmup_hours: float, end: float) -> dict[str, float]:
    """KPIs of the cases that surfaced after the warm-up."""
    c = cases[cases["discovered"] >= warmup_hours]
    closed = c[c["closed_flag"]]
    days_to_close = (closed["closed"] - closed["discovered"]) / 24.0
    # On time among cases whose fate is known: closed, or still open past their deadline.
    decided = c["closed_flag"] | (c["deadline"] <= end)
    grid = c[c["source"] == "grid"]
    return {
        "cases_arrived": len(c),
        "cases_closed": len(closed),
        "cases_open_at_end": len(c) - len(closed),
        "closure_rate": _ratio(len(closed), len(c)),
        "on_time_rate": _ratio(int(c.loc[decided, "on_time"].sum()), int(decided.sum())),
        "mean_days_to_close": float(days_to_close.mean()) if len(closed) else math.nan,
        "p90_days_to_close": float(days_to_close.quantile(0.9)) if len(closed) else math.nan,
        "reopen_rate": _ratio(int((closed["reopens"] > 0).sum()), len(closed)),
        "bounces_per_case": float(c["bounces"].mean()) if len(c) else math.nan,
        "patrol_discovery_share": _ratio(int((grid["channel"] == "patrol").sum()), len(grid)),
        "on_spot_share": _ratio(int(grid["on_spot"].sum()), len(grid)),
        "hotline_escalation_rate": _ratio(int(c["escalated"].sum()), len(c)),
        "resident_satisfaction": float(closed["satisfaction"].mean()) if len(closed) else math.nan,
    }


def roles_table(model) -> pd.DataFrame:
    """Staff time by role and activity (hours after the warm-up), with posts and cost."""
    rows = []
    for name, team in model.teams.items():
        h = team.hours
        row = {"role": name, "posts": team.posts, "exits": team.exits, "cost_per_year": team.role.cost_per_year}
        for key in ("available", "absent", "overtime", *ACTIVITY_KPIS):
            row[key] = h[key]
        row["idle"] = max(0.0, h["available"] - (sum(h[a] for a in ACTIVITY_KPIS) - h["overtime"]))
        rows.append(row)
    return pd.DataFrame(rows)


def role_kpis(roles: pd.DataFrame, years: float) -> dict[str, float]:
    """Per-role utilisation, admin share (devolved tasks and data collection), overtime, staff."""
    out = {}
    for r in roles.itertuples(index=False):
        worked = sum(getattr(r, a) for a in ACTIVITY_KPIS) - r.overtime
        out[f"utilisation_{r.role}"] = _ratio(worked, r.available)
        out[f"admin_share_{r.role}"] = _ratio(r.devolved_tasks + r.data_collection, r.available)
        out[f"overtime_hours_{r.role}"] = float(r.overtime)
        out[f"staff_{r.role}"] = int(r.posts)
        out[f"exits_{r.role}"] = int(r.exits)
    out["staff_total"] = int(roles["posts"].sum())
    out["staff_cost"] = float((roles["posts"] * roles["cost_per_year"]).sum() * years)
    return out


def survey(model) -> dict[str, float]:
    """The street's yearly satisfaction survey: what ``respondents`` residents would report."""
    n = model.settings.survey.respondents
    if n <= 0:
        return {}
    rng = model.survey_rng
    sizes = np.array([a.population for a in model.areas], dtype=float)
    areas = rng.choice(len(model.areas), size=n, p=sizes / sizes.sum())
    answers = np.array([model.areas[a].trust[rng.integers(model.areas[a].population)] for a in areas])
    return {
        "survey_satisfaction": float(answers.mean()),
        "survey_satisfaction_se": float(answers.std(ddof=1) / math.sqrt(n)),
    }


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else math.nan


def mean_ci(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and the t-based confidence interval across replications."""
    x = np.asarray([v for v in values if v == v], dtype=float)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2 or np.all(x == x[0]):
        return m, m, m
    from scipy import stats  # here, not at the top: sweep workers never need it and it costs 0.5 s to import
    lo, hi = stats.t.interval(confidence, len(x) - 1, loc=m, scale=stats.sem(x))
    return m, float(lo), float(hi)


def summarise(summary: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """KPI table: mean and CI bounds across replications, one row per KPI."""
    rows = []
    for col in summary.columns:
        if col in ("replication", "seed", "scenario"):
            continue
        m, lo, hi = mean_ci(summary[col], confidence)
        rows.append({"kpi": col, "mean": m, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def little_check(model, cases: pd.DataFrame) -> pd.DataFrame:
    """Little's law at every stage: time-average count L against lambda * W from the case table."""
    T = model.env.now
    rows = []
    for stage, col in zip(STAGES, STAGE_COLUMNS):
        L = model.stage_area[stage] / T
        lam = len(cases) / T
        W = float(cases[col].mean()) if len(cases) else 0.0
        rows.append({"stage": stage, "L": L, "lambda": lam, "W": W, "lambda_W": lam * W})
    return pd.DataFrame(rows)
