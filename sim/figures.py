"""Figures for proposals: PNG and SVG, axis labels with units, CIs visible.

``draw(results_dir)`` reads what ``streetsim run`` / ``compare`` wrote and draws into
``results_dir/figures/``; sweeps are drawn by :mod:`sim.sweep.figures`.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from sim.metrics import mean_ci  # noqa: E402

# KPI -> axis label with its unit.
BAR_KPIS = {
    "on_time_resident": "on-time closure (share of cases)",
    "wait_mean_days": "mean time to close (days)",
    "wait_p90_days": "90th percentile time to close (days)",
    "reopen_rate": "reopened (share of closed cases)",
    "bounces_per_case": "bounces per case",
    "resident_satisfaction": "resident satisfaction (0-1)",
    "hotline_escalation_rate": "escalated to 12345 (share of cases)",
    "admin_share_committee_workers": "committee time on devolved tasks\nand data collection (share)",
}
ACTIVITIES = {  # activity -> (legend label, colour)
    "casework": ("casework", "#1f77b4"),
    "travel": ("travel", "#17becf"),
    "devolved_tasks": ("devolved tasks", "#d62728"),
    "data_collection": ("data collection", "#ff9896"),
    "investment_promotion": ("investment promotion", "#9467bd"),
    "idle": ("idle", "#c7c7c7"),
}
COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def draw(results_dir: str | Path) -> list[Path]:
    """Draw every figure for a results folder; returns the files written."""
    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text())
    if manifest.get("kind") == "sweep":
        from sim.sweep import figures as sweep_figures

        return sweep_figures.draw(results_dir)
    runs = scenario_folders(results_dir, manifest)
    out = results_dir / "figures"
    out.mkdir(exist_ok=True)
    summaries = {n: pd.read_csv(d / "summary.csv") for n, d in runs.items()}
    files = []
    files += kpi_bars(summaries, out)
    files += backlog(runs, out)
    if manifest.get("kind") != "district":  # ten streets side by side would not be readable
        files += staff_time(runs, out)
    return files


def scenario_folders(results_dir: Path, manifest: dict) -> dict[str, Path]:
    if manifest.get("kind") == "compare":
        return {n: results_dir / n for n in manifest["scenario_names"]}
    if manifest.get("kind") == "district":
        names = manifest.get("street_names") or sorted(p.name for p in (results_dir / "streets").iterdir())
        return {n: results_dir / "streets" / n for n in names}
    name = manifest.get("scenario_names", [results_dir.name])[0]
    return {name: results_dir}


def _save(fig, out: Path, stem: str) -> list[Path]:
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=150, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def kpi_bars(summaries: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """One panel per headline KPI: a bar per scenario with its 95% CI whisker."""
    kpis = [k for k in BAR_KPIS if any(k in s.columns for s in summaries.values())]
    ncols = 4
    nrows = int(np.ceil(len(kpis) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    names = list(summaries)
    for ax, kpi in zip(axes.flat, kpis):
        means, errs = [], [[], []]
        for n in names:
            m, lo, hi = mean_ci(summaries[n][kpi]) if kpi in summaries[n] else (np.nan,) * 3
            means.append(m)
            errs[0].append(m - lo if m == m else 0)
            errs[1].append(hi - m if m == m else 0)
        x = np.arange(len(names))
        ax.bar(x, means, yerr=errs, capsize=6, color=COLOURS[: len(names)], edgecolor="black", linewidth=0.5,
               error_kw={"elinewidth": 1.5})
        ax.set_xticks(x, [_short(n) for n in names], rotation=20, ha="right", fontsize=9)
        ax.set_ylabel(BAR_KPIS[kpi], fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    reps = min(len(s) for s in summaries.values())
    fig.suptitle(f"KPIs by scenario (mean and 95% CI over {reps} replications)", fontsize=12)
    fig.tight_layout()
    return _save(fig, out, "kpi_bars")


def backlog(runs: dict[str, Path], out: Path) -> list[Path]:
    """Open cases at the end of each day: mean over replications with its 95% CI band."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for colour, (name, folder) in zip(COLOURS, runs.items()):
        ts = pd.read_parquet(folder / "timeseries.parquet", columns=["replication", "day", "open_cases"])
        g = ts.groupby("day")["open_cases"]
        mean, sem, n = g.mean(), g.sem().fillna(0), g.count()
        half = sem * stats.t.ppf(0.975, np.maximum(n - 1, 1))
        ax.plot(mean.index, mean.values, color=colour, label=_short(name), linewidth=1.6)
        ax.fill_between(mean.index, mean - half, mean + half, color=colour, alpha=0.25, linewidth=0)
    ax.set_xlabel("day of the simulated year")
    ax.set_ylabel("open cases at end of day (cases)")
    ax.set_title("Backlog over time (mean and 95% CI band over replications)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, out, "backlog")


def staff_time(runs: dict[str, Path], out: Path) -> list[Path]:
    """Staff time by activity per role, as shares of working hours; one panel per scenario."""
    tables = {n: pd.read_csv(f / "roles.csv") for n, f in runs.items()}
    roles = list(dict.fromkeys(r for t in tables.values() for r in t["role"]))
    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 0.45 * len(roles) + 1.8),
                             sharey=True, squeeze=False)
    for ax, (name, t) in zip(axes[0], tables.items()):
        mean = t.groupby("role").mean(numeric_only=True).reindex(roles)
        left = np.zeros(len(roles))
        # Activities include overtime, idle is on-duty time unworked: together they fill
        # on-duty plus overtime hours exactly.
        total = (mean["available"] + mean["overtime"]).replace(0, np.nan)
        for act, (label, colour) in ACTIVITIES.items():
            share = (mean[act] / total).fillna(0).to_numpy()
            ax.barh(roles, share, left=left, color=colour, label=label, edgecolor="white", linewidth=0.4)
            left += share
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of working hours (on duty + overtime)")
        ax.set_title(_short(name), fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(ACTIVITIES), frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("Staff time by activity (mean over replications)", fontsize=12)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _save(fig, out, "staff_time")


def _short(name: str) -> str:
    return name.replace("_", " ")
