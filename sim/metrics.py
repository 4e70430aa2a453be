"""KPIs, confidence intervals and conservation checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.cases import STAGE_COLUMNS, STAGES, TEXT_COLUMNS
from sim.columns import kpi_names
from sim.teams import ACTIVITIES as ACTIVITY_KPIS  # one list of what staff time is spent on


class ConservationError(AssertionError):
    """Cases were lost or made up: arrived != closed + the cases counted in the loop."""


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


def check_conservation(arrived: int, closed: int, in_loop: int) -> None:
    """Three counts kept apart must agree: cases that arrived, cases closed (evaluated), and cases
    the live counts place in the loop (in a stage, or waiting at discovery)."""
    if arrived != closed + in_loop:
        what = "cases lost" if arrived > closed + in_loop else "more cases closed or in the loop than arrived"
        raise ConservationError(f"{what}: arrived {arrived} != closed {closed} + in the loop {in_loop}")


def kpis(model, cases: pd.DataFrame, roles: pd.DataFrame) -> dict[str, float]:
    """The replication's KPIs (stable snake_case names), over cases surfacing after warm-up."""
    s = model.settings
    in_loop = model.cases_in_loop()
    check_conservation(len(cases), int(cases["closed_flag"].sum()), in_loop)  # the case table's records
    check_conservation(len(model.cases), model.closed_count, in_loop)  # arrivals and evaluations as counted
    warmup = s.horizon.warmup_days * 24.0
    out = case_kpis(cases, warmup, model.env.now, list(s.case_types))
    out.update(hotline_kpis(model, cases, warmup))
    out["resident_trust_end"] = float(np.mean([a.trust.mean() for a in model.areas]))
    out["problems_undiscovered_at_end"] = sum(g.undiscovered for g in model.grids)
    ps = s.levers.purchased_services
    out["purchased_services_cost_per_year"] = ps.cost_per_year if ps.enabled else 0.0
    out.update(survey(model, cases, warmup))
    out.update(role_kpis(roles, {name: team.waits for name, team in model.teams.items()}))
    out["total_cost_per_year"] = out["staff_cost_per_year"] + out["purchased_services_cost_per_year"]
    ordered = {k: out.pop(k) for k in kpi_names(s)}  # summary.csv's column order
    if out:
        raise KeyError(f"KPIs computed but not listed in kpi_names: {sorted(out)}")
    return ordered


@dataclass
class CaseTotals:
    """What the case KPIs are made of, over the cases that surfaced after the warm-up: counts that
    add over streets, and the values whose means and 90th percentiles are taken, in case order.

    A district's totals combine its streets' (``case_kpis_of``) instead of pooling their cases:
    a city year's 16 million cases are never one table. Combined in street order, the values are
    the pooled table's in its order, so the KPIs are the same to the last digit.
    """

    counts: dict[str, int]  # see case_totals
    wait_hours: np.ndarray  # each closed case: arising to the real fix
    resident_means: np.ndarray  # each resident with a closed case: mean satisfaction with them
    type_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # by case type: see case_totals
    closed_types: np.ndarray = field(default_factory=lambda: np.empty(0, np.int8))  # each closed case's type, as
    type_names: tuple[str, ...] = ()  # an index into these (one byte a case, not its wait again)

    def type_wait_hours(self, case_type: str) -> np.ndarray:
        """The waits of the closed cases of ``case_type``, in case order."""
        if case_type not in self.type_names:
            return np.empty(0)
        return self.wait_hours[self.closed_types == self.type_names.index(case_type)]


def case_totals(cases: pd.DataFrame, warmup_hours: float, end: float) -> CaseTotals:
    """The cases' counts and values (see CaseTotals) after the warm-up, ``end`` the run's end."""
    c = after_warmup(cases, warmup_hours)
    # Only the columns read below: a 1M-resident street-year is 670,000 cases.
    closed = c.loc[c["closed_flag"].to_numpy(), ["type", "arose", "fixed", "reopens", "satisfaction", "area", "resident"]]
    mine = closed[closed["resident"] >= 0]
    grid = c.loc[(c["source"] == "grid").to_numpy(), ["channel", "on_spot"]]
    counts = {
        "arrived": len(c),
        "closed": len(closed),
        "reported_closed": int(c["reported_closed"].notna().sum()),
        **_on_time(c, "on_time_resident", "resident_deadline", end),
        **_on_time(c, "on_time", "deadline", end),
        **_on_time(c, "on_time_reported", "deadline", end, closed_col="reported_closed"),
        "reopened": int((closed["reopens"] > 0).sum()),
        "bounces": int(c["bounces"].sum()),
        "grid": len(grid),
        "patrol": int((grid["channel"] == "patrol").sum()),
        "on_spot": int(grid["on_spot"].sum()),
        "escalated": int(c["escalated"].sum()),
    }
    codes, names = pd.factorize(closed["type"])
    totals = CaseTotals(
        counts, (closed["fixed"] - closed["arose"]).to_numpy(),
        mine.groupby(["area", "resident"], observed=True)["satisfaction"].mean().to_numpy(),
        closed_types=codes.astype(np.int8 if len(names) <= 127 else np.int32), type_names=tuple(names),
    )
    cols = ["type", "closed", "on_time_resident", "resident_deadline"]
    for t, ct in c[cols].groupby("type", observed=True):
        totals.type_counts[t] = _on_time(ct, "on_time_resident", "resident_deadline", end)
    return totals


def _on_time(c, flag, deadline, end, closed_col="closed") -> dict[str, int]:
    """On time among cases whose fate is known: closed, or still open past their deadline."""
    decided = c[closed_col].notna() | (c[deadline] <= end)
    return {flag: int(c.loc[decided, flag].sum()), f"{flag}_decided": int(decided.sum())}


def case_kpis_of(parts: list[CaseTotals], types=()) -> dict[str, float]:
    """The case KPIs (and, for ``types``, each type's) of one street's CaseTotals or several's.

    Two on-time measures: the standard's (CJ/T 315: closed within the working-time deadline from
    registration) and the resident's (really fixed within the same allowance from when the
    problem arose or was reported). ``*_reported`` is what a street under pressure would report
    (closures reported before the fix count as closed). Waits run from arising to the real fix.
    """
    n = {k: sum(p.counts[k] for p in parts) for k in parts[0].counts}
    wait_days = pd.Series(np.concatenate([p.wait_hours for p in parts])) / 24.0
    residents = pd.Series(np.concatenate([p.resident_means for p in parts]))
    out = {
        "cases_arrived": n["arrived"],
        "cases_closed": n["closed"],
        "cases_open_at_end": n["arrived"] - n["closed"],
        "on_time_resident": _ratio(n["on_time_resident"], n["on_time_resident_decided"]),
        "on_time_standard": _ratio(n["on_time"], n["on_time_decided"]),
        "on_time_reported": _ratio(n["on_time_reported"], n["on_time_reported_decided"]),
        "closure_rate": _ratio(n["closed"], n["arrived"]),
        "closure_rate_reported": _ratio(n["reported_closed"], n["arrived"]),
        "wait_mean_days": float(wait_days.mean()) if len(wait_days) else math.nan,
        "wait_p90_days": float(wait_days.quantile(0.9)) if len(wait_days) else math.nan,
        "reopen_rate": _ratio(n["reopened"], n["closed"]),
        "bounces_per_case": n["bounces"] / n["arrived"] if n["arrived"] else math.nan,
        "patrol_discovery_share": _ratio(n["patrol"], n["grid"]),
        "on_spot_share": _ratio(n["on_spot"], n["grid"]),
        "hotline_escalation_rate": _ratio(n["escalated"], n["arrived"]),
        # the mean over residents who had a case of each one's mean satisfaction with their cases
        "resident_satisfaction": float(residents.mean()) if len(residents) else math.nan,
    }
    for t in types:
        waits = pd.Series(np.concatenate([p.type_wait_hours(t) for p in parts]))
        on_time = sum(p.type_counts.get(t, {}).get("on_time_resident", 0) for p in parts)
        decided = sum(p.type_counts.get(t, {}).get("on_time_resident_decided", 0) for p in parts)
        out[f"type_wait_hours_{t}"] = float(waits.mean()) if len(waits) else math.nan
        out[f"type_wait_p90_hours_{t}"] = float(waits.quantile(0.9)) if len(waits) else math.nan
        out[f"type_on_time_{t}"] = _ratio(on_time, decided)
    return out


def case_kpis(cases: pd.DataFrame, warmup_hours: float, end: float, types=()) -> dict[str, float]:
    """The case KPIs of one street's case table (see case_kpis_of)."""
    return case_kpis_of([case_totals(cases, warmup_hours, end)], types)


def after_warmup(cases: pd.DataFrame, warmup_hours: float) -> pd.DataFrame:
    """The cases that surfaced after the warm-up; the table itself, not a copy, when all did
    (a run without a warm-up: a 1M-resident street-year is 670,000 cases)."""
    after = (cases["discovered"] >= warmup_hours).to_numpy()
    return cases if after.all() else cases[after]


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
