"""Comparing scenarios on common random numbers: paired differences, what changed, tables.

Replication *i* of every scenario runs on the same random numbers, so the difference of a KPI
between two scenarios is measured replication by replication (a paired difference). Each KPI's
difference against the first scenario gets a Student-t 95% CI and a p-value; the p-values of
all KPIs tested at once are adjusted with Benjamini–Hochberg (false discovery rate 5%), and a
KPI counts as *changed* when its adjusted p-value is below 0.05. Staff posts are inputs fixed by
the scenario (:func:`sim.labels.is_input`) and quantities that do not vary across replications
(costs of fixed posts) are shown as they are, never tested.
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
from tabulate import tabulate

from sim import intervals
from sim.cells import ci_cell, missing, number, percent
from sim.labels import is_input, label_with_unit, word

ALPHA = 0.05  # false discovery rate of the "changed" mark
TERMINAL_WIDTH = 100
KPI_COLUMN_WIDTH = 28
NOT_KPIS = ("replication", "seed", "scenario", "street")
# status of a KPI row against the first scenario
BASELINE, INPUT, FIXED, CHANGED, UNCHANGED = "baseline", "input", "fixed", "changed", "unchanged"


def comparison_table(summaries: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long table, one row per (scenario, KPI): mean and 95% CI (and its method), and against the
    first scenario the paired difference with its CI, relative change, p-value, BH-adjusted
    p-value and status (baseline / input / fixed / changed / unchanged)."""
    names = list(summaries)
    frames = {n: s.set_index("replication") if "replication" in s else s for n, s in summaries.items()}
    first = frames[names[0]]
    kpis = [k for k in dict.fromkeys(c for f in frames.values() for c in f.columns) if k not in NOT_KPIS]
    fixed = {k for k in kpis if all(_constant(f[k]) for f in frames.values() if k in f)}
    rows = []
    for name in names:
        rows += _scenario_rows(name, frames[name], first, kpis, fixed, name == names[0])
    table = pd.DataFrame(rows)
    for name in names[1:]:  # BH over the KPIs tested for this scenario
        tested = (table["scenario"] == name) & table["status"].isin([CHANGED, UNCHANGED])
        table.loc[tested, "p_adjusted"] = intervals.adjust_p_values(table.loc[tested, "p_value"])
        changed = tested & (table["p_adjusted"] < ALPHA)
        table.loc[tested, "status"] = UNCHANGED
        table.loc[changed, "status"] = CHANGED
    table.attrs["replications"] = min(len(f) for f in frames.values())
    return table


def _scenario_rows(name, frame, first, kpis, fixed, is_first) -> list[dict]:
    rows = []
    for kpi in kpis:
        if kpi not in frame:
            continue
        ci = intervals.interval(frame[kpi], kpi)
        row = {"scenario": name, "kpi": kpi, "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
               "ci_method": ci.method, "diff_mean": math.nan, "diff_ci_low": math.nan,
               "diff_ci_high": math.nan, "relative_change": math.nan, "p_value": math.nan,
               "p_adjusted": math.nan}
        if is_first:
            row["status"] = BASELINE
        elif kpi in first:
            a, b = first[kpi].align(frame[kpi], join="inner")
            d = intervals.paired_difference(a, b)
            base = float(a.mean())
            row.update(diff_mean=d.mean, diff_ci_low=d.low, diff_ci_high=d.high,
                       relative_change=d.mean / abs(base) if base else math.nan)
            row["status"] = INPUT if is_input(kpi) else FIXED if kpi in fixed else UNCHANGED
            if row["status"] == UNCHANGED:
                row["p_value"] = d.p_value
        else:
            row["status"] = INPUT if is_input(kpi) else FIXED
        rows.append(row)
    return rows


def _constant(values: pd.Series) -> bool:
    x = values.dropna().to_numpy(dtype=float)
    return len(x) > 0 and bool(np.all(x == x[0]))


# The headline always leads with what residents get: the resident's and the standard's on-time
# rates and the time to fix, changed or not; then the KPIs that changed, largest change first.
LEAD_KPIS = ("on_time_resident", "on_time_standard", "wait_mean_days")


def headline(table: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """The lead KPIs, then the KPIs that changed for ``scenario`` against the first, largest
    relative change first."""
    mine = table[table["scenario"] == scenario]
    tested = mine[mine["status"].isin([CHANGED, UNCHANGED])]
    lead = [tested[tested["kpi"] == k] for k in LEAD_KPIS]
    rows = mine[(mine["status"] == CHANGED) & ~mine["kpi"].isin(LEAD_KPIS)]
    order = rows["relative_change"].abs().fillna(np.inf).sort_values(ascending=False, kind="stable").index
    return pd.concat([*lead, rows.loc[order]])


def format_comparison(table: pd.DataFrame, show_all: bool = False, lang: str = "en",
                      width: int = TERMINAL_WIDTH) -> str:
    """Terminal text: per compared scenario, the headline (or every KPI with ``show_all``),
    the inputs that differ, and a footer naming the methods."""
    names = list(dict.fromkeys(table["scenario"]))
    base = names[0]
    t = table.set_index(["scenario", "kpi"])
    blocks = []
    if len(names) == 1:
        blocks.append(_means_table(table, base, lang))
    for name in names[1:]:
        rows = table[table["scenario"] == name]
        tested = rows["status"].isin([CHANGED, UNCHANGED]).sum()
        shown = rows[rows["status"].isin([CHANGED, UNCHANGED])] if show_all else headline(table, name)
        title = word("kpis_changed", lang, name=name, base=base, changed=(rows["status"] == CHANGED).sum(), tested=tested)
        blocks.append(title + "\n" + _difference_table(shown, t, base, name, lang, show_all))
        inputs = _inputs_table(rows, t, base, name, lang, show_all)
        if inputs:
            blocks.append(inputs)
    blocks.append(footer(len(names) > 1, show_all, lang))
    return "\n\n".join(blocks)


def _difference_table(rows, t, base, name, lang, show_all) -> str:
    if rows.empty:
        return "  " + word("no_kpi_changed", lang)
    body = []
    sep = "\n" if show_all else " "  # two lines per KPI keep the full table within 100 columns
    for r in rows.itertuples():
        b = t.loc[(base, r.kpi)]
        mark = "*" if r.status == CHANGED else ""
        body.append([label_with_unit(r.kpi, lang), _mean_cell(b, show_all, lang), _mean_cell(r, show_all, lang),
                     f"{number(r.diff_mean, lang, True)}{sep}{ci_cell(r.diff_ci_low, r.diff_ci_high, lang, True)}",
                     percent(r.relative_change, lang), mark])
    headers = [word("kpi", lang), base, name, "Δ [95% CI]", "Δ %", ""]
    return tabulate(body, headers, tablefmt="simple", disable_numparse=True,
                    colalign=("left", "right", "right", "right", "right", "left"),
                    maxcolwidths=[KPI_COLUMN_WIDTH, None, None, None, None, None])


def _inputs_table(rows, t, base, name, lang, show_all) -> str:
    """Staff posts (inputs) and fixed quantities: shown as they are, not tested."""
    fixed = rows[rows["status"].isin([INPUT, FIXED])]
    if not show_all:
        fixed = fixed[(fixed["diff_mean"].fillna(1) != 0)]
    if fixed.empty:
        return ""
    body = [[label_with_unit(r.kpi, lang),
             number(t.loc[(base, r.kpi)]["mean"], lang) if (base, r.kpi) in t.index else missing(lang),
             number(r.mean, lang), number(r.diff_mean, lang, True)] for r in fixed.itertuples()]
    headers = [word("inputs", lang), base, name, "Δ"]
    return tabulate(body, headers, tablefmt="simple", disable_numparse=True,
                    colalign=("left", "right", "right", "right"),
                    maxcolwidths=[KPI_COLUMN_WIDTH + 14, None, None, None])


def _means_table(table, name, lang) -> str:
    rows = table[table["scenario"] == name]
    body = [[label_with_unit(r.kpi, lang), number(r.mean, lang), ci_cell(r.ci_low, r.ci_high, lang),
             intervals.method_name(r.ci_method, lang)] for r in rows.itertuples()]
    return tabulate(body, [word("kpi", lang), word("mean", lang), word("ci95", lang), word("method", lang)],
                    tablefmt="simple", disable_numparse=True, maxcolwidths=[40, None, None, 20])


def footer(compared: bool = True, show_all: bool = False, lang: str = "en") -> str:
    lines = [word("footer_means", lang)]
    if compared:
        lines.append(word("footer_differences", lang) + ("" if show_all else word("footer_ranked", lang)))
    # Chinese has no spaces to break at: wrap it by characters, each as wide as two columns
    width = TERMINAL_WIDTH if lang == "en" else TERMINAL_WIDTH // 2
    return "\n".join(textwrap.fill(line, width) for line in lines)


def _mean_cell(r, with_ci: bool, lang: str) -> str:
    m = r["mean"] if isinstance(r, pd.Series) else r.mean
    if not with_ci:
        return number(m, lang)
    lo, hi = (r["ci_low"], r["ci_high"]) if isinstance(r, pd.Series) else (r.ci_low, r.ci_high)
    return f"{number(m, lang)}\n{ci_cell(lo, hi, lang)}"

