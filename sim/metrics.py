"""KPIs, confidence intervals and conservation checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.cases import STAGE_COLUMNS, STAGES, TEXT_COLUMNS
from sim.columns import kpi_names
from sim.teams import ACTIVITIES as ACTIVITY_KPIS  # one list of what staff time is spent on


class ConservationError(AssertionError):
    """Cases were lost: arrived != closed + open at end."""


def case_table(model) -> pd.DataFrame:
    """One row per case: its type, class, channel, each step's time (hours), handler, bounces."""
    cols = model.cases.columns(model.env.now)
    df = pd.DataFrame(cols)
    df["closed_flag"] = df["closed"].notna() & df["evaluated"].notna()
    df["on_time"] = df["closed_flag"] & (df["closed"] <= df["deadline"])  # the standard's (CJ/T 315)
    df["on_time_resident"] = df["closed_flag"] & (df["fixed"] <= df["resident_deadline"])
    df["on_time_reported"] = df["reported_closed"].notna() & (df["reported_closed"] <= df["deadline"])
    for c in TEXT_COLUMNS:
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
    warmup = s.horizon.warmup_days * 24.0
    out = case_kpis(cases, warmup, model.env.now)
    out.update(hotline_kpis(model, cases, warmup))
    out["resident_trust_end"] = float(np.mean([a.trust.mean() for a in model.areas]))
    out["problems_undiscovered_at_end"] = sum(g.undiscovered for g in model.grids)
    ps = s.levers.purchased_services
    out["purchased_services_cost_per_year"] = ps.cost_per_year if ps.enabled else 0.0
    out.update(survey(model, cases, warmup))
    out.update(role_kpis(roles, {name: team.waits for name, team in model.teams.items()}))
    out.update(type_kpis(cases, warmup, model.env.now, list(s.case_types)))
    out["total_cost_per_year"] = out["staff_cost_per_year"] + out["purchased_services_cost_per_year"]
    ordered = {k: out.pop(k) for k in kpi_names(s)}  # summary.csv's column order
    if out:
        raise KeyError(f"KPIs computed but not listed in kpi_names: {sorted(out)}")
    return ordered


def case_kpis(cases: pd.DataFrame, warmup_hours: float, end: float) -> dict[str, float]:
    """KPIs of the cases that surfaced after the warm-up.

    Two on-time measures: the standard's (CJ/T 315: closed within the working-time deadline from
    registration) and the resident's (really fixed within the same allowance from when the
    problem arose or was reported). ``*_reported`` is what a street under pressure would report
    (closures reported before the fix count as closed). Waits run from arising to the real fix.
    """
    c = after_warmup(cases, warmup_hours)
    # Only the columns read below: a city's pooled cases are millions of rows.
    closed = c.loc[c["closed_flag"].to_numpy(), ["arose", "fixed", "reopens", "satisfaction", *resident_key(c)]]
    wait_days = (closed["fixed"] - closed["arose"]) / 24.0
    grid = c.loc[(c["source"] == "grid").to_numpy(), ["channel", "on_spot"]]
    return {
        "cases_arrived": len(c),
        "cases_closed": len(closed),
        "cases_open_at_end": len(c) - len(closed),
        "on_time_resident": _on_time(c, "on_time_resident", "resident_deadline", end),
        "on_time_standard": _on_time(c, "on_time", "deadline", end),
        "on_time_reported": _on_time(c, "on_time_reported", "deadline", end, closed_col="reported_closed"),
        "closure_rate": _ratio(len(closed), len(c)),
        "closure_rate_reported": _ratio(int(c["reported_closed"].notna().sum()), len(c)),
        "wait_mean_days": float(wait_days.mean()) if len(closed) else math.nan,
        "wait_p90_days": float(wait_days.quantile(0.9)) if len(closed) else math.nan,
        "reopen_rate": _ratio(int((closed["reopens"] > 0).sum()), len(closed)),
        "bounces_per_case": float(c["bounces"].mean()) if len(c) else math.nan,
        "patrol_discovery_share": _ratio(int((grid["channel"] == "patrol").sum()), len(grid)),
        "on_spot_share": _ratio(int(grid["on_spot"].sum()), len(grid)),
        "hotline_escalation_rate": _ratio(int(c["escalated"].sum()), len(c)),
        "resident_satisfaction": resident_satisfaction(closed),
    }


def after_warmup(cases: pd.DataFrame, warmup_hours: float) -> pd.DataFrame:
    """The cases that surfaced after the warm-up; the table itself, not a copy, when all did
    (a district's pooled cases are millions of rows, already without the warm-up's)."""
    after = (cases["discovered"] >= warmup_hours).to_numpy()
    return cases if after.all() else cases[after]


def _on_time(c, flag, deadline, end, closed_col="closed"):
    """On time among cases whose fate is known: closed, or still open past their deadline."""
    decided = c[closed_col].notna() | (c[deadline] <= end)
    return _ratio(int(c.loc[decided, flag].sum()), int(decided.sum()))


def resident_satisfaction(closed: pd.DataFrame) -> float:
    """Mean over residents who had a case of each one's mean satisfaction with their cases.
    Residents are numbered within their area (and, in a district's pooled cases, their street)."""
    mine = closed[closed["resident"] >= 0]
    if not len(mine):
        return math.nan
    return float(mine.groupby(resident_key(mine), observed=True)["satisfaction"].mean().mean())


def resident_key(cases: pd.DataFrame) -> list[str]:
    """The columns naming a resident: area and number, and street in a district's pooled cases."""
    return ["street", "area", "resident"] if "street" in cases else ["area", "resident"]


def hotline_kpis(model, cases, warmup):
    """12345 work orders the street must answer: requests made to the hotline, and escalations."""
    c = after_warmup(cases, warmup)
    direct = c[c["channel"] == "hotline"]
    end = model.env.now
    orders = [o for o in model.orders if o[0] >= warmup]
    decided = [o for o in orders if o[1] == o[1] or o[2] <= end]  # answered, or past the deadline
    on_time = int(direct["on_time"].sum()) + sum(1 for _, answered, deadline in decided if answered <= deadline)
    return {"hotline_orders": len(direct) + len(orders),
            "hotline_orders_on_time": _ratio(on_time, len(direct) + len(decided))}


def type_kpis(cases, warmup, end, types) -> dict[str, float]:
    """Per case type: mean and 90th-percentile time to fix (hours) and the resident's on-time rate."""
    cols = ["type", "arose", "fixed", "closed", "closed_flag", "on_time_resident", "resident_deadline"]
    c = after_warmup(cases, warmup)[cols]
    out = {}
    by_type = dict(tuple(c.groupby("type", observed=True)))
    for t in types:
        ct = by_type.get(t, c.iloc[0:0])
        closed = ct[ct["closed_flag"]]
        w = closed["fixed"] - closed["arose"]
        out[f"type_wait_hours_{t}"] = float(w.mean()) if len(w) else math.nan
        out[f"type_wait_p90_hours_{t}"] = float(w.quantile(0.9)) if len(w) else math.nan
        out[f"type_on_time_{t}"] = _on_time(ct, "on_time_resident", "resident_deadline", end)
    return out


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


def role_kpis(roles: pd.DataFrame, waits: dict | None = None) -> dict[str, float]:
    """Per role: utilisation (time worked over time available, overtime excluded), the share of
    it on casework, admin share (devolved tasks and data collection), overtime, staff, exits, and
    the wait of case jobs in the role's queue (mean, 90th percentile, share that waited at all;
    NaN where ``waits``, hours by role, are not given)."""
    out = {}
    for r in roles.itertuples(index=False):
        worked = sum(getattr(r, a) for a in ACTIVITY_KPIS) - r.overtime
        w = np.asarray((waits or {}).get(r.role, []), dtype=float)
        out[f"utilisation_{r.role}"] = _ratio(worked, r.available)
        out[f"casework_share_{r.role}"] = _ratio(r.casework + r.travel, r.available)
        out[f"admin_share_{r.role}"] = _ratio(r.devolved_tasks + r.data_collection, r.available)
        out[f"overtime_hours_{r.role}"] = float(r.overtime)
        out[f"staff_{r.role}"] = int(r.posts)
        out[f"exits_{r.role}"] = int(r.exits)
        out[f"queue_wait_hours_{r.role}"] = float(w.mean()) if len(w) else math.nan
        out[f"queue_wait_p90_hours_{r.role}"] = float(np.quantile(w, 0.9)) if len(w) else math.nan
        out[f"queue_waited_share_{r.role}"] = float((w > 1e-9).mean()) if len(w) else math.nan
    out["staff_total"] = int(roles["posts"].sum())
    out["staff_cost_per_year"] = float((roles["posts"] * roles["cost_per_year"]).sum())
    return out


def survey(model, cases, warmup) -> dict[str, float]:
    """The street's yearly satisfaction survey: ``respondents`` residents drawn at random; those
    who had a case (closed after the warm-up) rate it, as the reform's survey asks them to."""
    n = model.settings.survey.respondents
    if n <= 0:
        return {}
    rng = model.survey_rng
    sizes = np.array([a.population for a in model.areas], dtype=float)
    areas = rng.choice(len(model.areas), size=n, p=sizes / sizes.sum())
    people = np.array([rng.integers(model.areas[a].population) for a in areas])
    c = cases[(cases["discovered"] >= warmup) & cases["closed_flag"] & (cases["resident"] >= 0)]
    rated = c.groupby(["area", "resident"], observed=True)["satisfaction"].mean()
    lookup = rated.to_dict()
    answers = np.array([lookup[k] for k in zip(areas.tolist(), people.tolist()) if k in lookup])
    if len(answers) == 0:
        return {"survey_satisfaction": math.nan, "survey_satisfaction_se": math.nan, "survey_respondents_with_case": 0}
    se = float(answers.std(ddof=1) / math.sqrt(len(answers))) if len(answers) > 1 else math.nan
    return {"survey_satisfaction": float(answers.mean()), "survey_satisfaction_se": se,
            "survey_respondents_with_case": len(answers)}


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
