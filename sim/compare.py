"""Comparing scenarios on common random numbers: KPI tables and paired differences."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.metrics import ROLE_KPI_PREFIXES, TOTAL_KPIS, mean_ci

# The KPIs a planner reads first; comparison.csv holds every KPI.
HEADLINE_KPIS = (
    "cases_arrived", "on_time_resident", "closure_rate", "wait_mean_days", "wait_p90_days",
    "reopen_rate", "bounces_per_case", "patrol_discovery_share", "resident_satisfaction",
    "resident_trust_end", "survey_satisfaction", "survey_satisfaction_se", "hotline_escalation_rate", "staff_total", "staff_cost_per_year", "purchased_services_cost_per_year",
)


def comparison_table(summaries: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long table: scenario, kpi, mean and 95% CI, and the paired difference against the first
    scenario with its 95% CI (replication i of every scenario shares random numbers)."""
    names = list(summaries)
    first = summaries[names[0]].set_index("replication")
    rows = []
    for name in names:
        s = summaries[name].set_index("replication")
        for kpi in s.columns:
            mean, lo, hi = mean_ci(s[kpi])
            row = {"scenario": name, "kpi": kpi, "mean": mean, "ci_low": lo, "ci_high": hi}
            if kpi in first.columns and name != names[0]:
                diff = (s[kpi] - first[kpi]).dropna()
                row["diff_mean"], row["diff_ci_low"], row["diff_ci_high"] = mean_ci(diff)
            else:
                row["diff_mean"] = row["diff_ci_low"] = row["diff_ci_high"] = np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def kpi_order(table: pd.DataFrame) -> list[str]:
    """Headline KPIs first, then per-role KPIs grouped by kind."""
    kpis = list(dict.fromkeys(table["kpi"]))
    head = [k for k in HEADLINE_KPIS if k in kpis]
    rest = [k for k in kpis if k not in head]
    by_role = [k for k in rest if k.startswith(ROLE_KPI_PREFIXES) and k not in TOTAL_KPIS]
    others = [k for k in rest if k not in by_role]
    by_role.sort(key=lambda k: next(i for i, p in enumerate(ROLE_KPI_PREFIXES) if k.startswith(p)))  # stable
    return head + others + by_role


def format_comparison(table: pd.DataFrame, kpis: list[str] | None = None) -> str:
    """Terminal table: one row per KPI, per scenario 'mean [CI]', and the difference vs the first."""
    names = list(dict.fromkeys(table["scenario"]))
    kpis = kpis or kpi_order(table)
    t = table.set_index(["kpi", "scenario"])
    width = 30
    header = f"{'kpi':<34}" + "".join(" " + f"{n[:width - 1]:>{width - 1}}" for n in names)
    header += "".join(" " + f"{('Δ ' + n + ' − ' + names[0])[:width + 3]:>{width + 3}}" for n in names[1:])
    lines = [header]
    for kpi in kpis:
        line = f"{kpi:<34}"
        for n in names:
            r = t.loc[(kpi, n)] if (kpi, n) in t.index else None
            line += " " + f"{_cell(r, 'mean', 'ci_low', 'ci_high'):>{width - 1}}"
        for n in names[1:]:
            r = t.loc[(kpi, n)] if (kpi, n) in t.index else None
            cell = _cell(r, "diff_mean", "diff_ci_low", "diff_ci_high", signed=True)
            if r is not None and r["diff_ci_low"] == r["diff_ci_low"] and (r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0):
                cell += " *"  # the CI excludes zero
            line += " " + f"{cell:>{width + 3}}"
        lines.append(line)
    lines.append("(mean [95% CI] over replications; Δ = paired difference on common random numbers; * = CI excludes 0)")
    return "\n".join(lines)


def _cell(r, m, lo, hi, signed=False) -> str:
    if r is None or r[m] != r[m]:
        return "n/a"
    return f"{_num(r[m], signed)} [{_num(r[lo], signed)}, {_num(r[hi], signed)}]"


def _num(x, signed=False) -> str:
    if x != x:
        return "n/a"
    sign = "+" if signed and x > 0 else ""
    if abs(x) >= 10000:
        return f"{sign}{x:,.0f}"
    if abs(x) >= 100:
        return f"{sign}{x:.0f}"
    return f"{sign}{x:.3g}"
