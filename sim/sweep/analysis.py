"""Sweep analysis: per-point means with confidence intervals, and Sobol/Morris indices (SALib)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim import intervals
from sim.sweep import store
from sim.sweep.experiment import SAMPLE_PREFIX

META = {"run_id", "point", "replication", "status", "error", "seconds", "worker", "worker_pid"}


def parameters(manifest: dict) -> list[str]:
    return list(manifest["design"]["parameters"])


def kpi_names(manifest: dict, table: pd.DataFrame) -> list[str]:
    """The KPIs the sweep kept, in the experiment file's order."""
    if manifest["kpis"] != "all":
        return [k for k in manifest["kpis"] if k in table.columns]
    skip = META | set(parameters(manifest))
    return [c for c in table.columns if c not in skip and not c.startswith(SAMPLE_PREFIX)
            and pd.api.types.is_numeric_dtype(table[c])]  # fmt: skip


def point_summary(results_dir: str | Path, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per design point: its parameters, successful runs ``n``, and for each KPI the mean
    over replications with its 95% interval, by the KPI's kind as in ``compare`` (sim.intervals:
    a share's stays in [0, 1]) (``<kpi>``, ``<kpi>_lo``, ``<kpi>_hi``)."""
    manifest = store.read_manifest(results_dir)
    table = store.read_results(results_dir) if table is None else table
    params, kpis = parameters(manifest), kpi_names(manifest, table)
    ok = table[table["status"] == "ok"]
    rows = []
    for point, g in table.groupby("point", sort=True):
        row = {"point": point, **{p: g[p].iloc[0] for p in params}, "n": int((g["status"] == "ok").sum())}
        og = ok[ok["point"] == point]
        for k in kpis:
            ci = intervals.interval(og[k], k)
            row[k], row[f"{k}_lo"], row[f"{k}_hi"] = ci.mean, ci.low, ci.high
        rows.append(row)
    return pd.DataFrame(rows)


def point_means(table: pd.DataFrame, kpi: str, n_points: int) -> np.ndarray:
    """Mean over replications at each point, in design order (SALib's Y)."""
    ok = table[table["status"] == "ok"]
    return ok.groupby("point")[kpi].mean().reindex(range(n_points)).to_numpy(dtype=float)


def sensitivity(results_dir: str | Path, table: pd.DataFrame | None = None, seed: int = 0) -> pd.DataFrame:
    """Sobol (S1, ST) or Morris (mu_star, sigma) indices per KPI and parameter, with 95% confidence
    half-widths from SALib's bootstrap. Each design point's output is its mean over replications.
    KPIs with missing points (failed runs) or no variation are left out."""
    from SALib.analyze import morris, sobol

    manifest = store.read_manifest(results_dir)
    design = manifest["design"]
    kind = design["type"]
    if kind not in ("sobol", "morris"):
        raise ValueError(f"sensitivity indices need a sobol or morris design, this one is {kind}")
    table = store.read_results(results_dir) if table is None else table
    problem, n_points, params = design["problem"], design["points"], parameters(manifest)
    rows = []
    for kpi in kpi_names(manifest, table):
        y = point_means(table, kpi, n_points)
        if np.isnan(y).any() or np.nanstd(y) == 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SALib warns about small N; the CI shows it
            if kind == "sobol":
                si = sobol.analyze(problem, y, calc_second_order=design["settings"]["second_order"],
                                   conf_level=0.95, seed=seed)  # fmt: skip
                pairs = (("S1", "S1_conf"), ("ST", "ST_conf"))
            else:
                x = _sample(table, params, n_points)
                si = morris.analyze(problem, x, y, conf_level=0.95, num_levels=design["settings"]["levels"], seed=seed)
                pairs = (("mu_star", "mu_star_conf"), ("sigma", None))
        for j, p in enumerate(params):
            for index, conf in pairs:
                rows.append({"kpi": kpi, "parameter": p, "index": index, "value": float(si[index][j]),
                             "conf": float(si[conf][j]) if conf else np.nan})  # fmt: skip
    return pd.DataFrame(rows, columns=["kpi", "parameter", "index", "value", "conf"])


def _sample(table: pd.DataFrame, params: list[str], n_points: int) -> np.ndarray:
    first = table.drop_duplicates("point").set_index("point").reindex(range(n_points))
    return first[[f"{SAMPLE_PREFIX}{p}" for p in params]].to_numpy(dtype=float)
