"""Sweep figures: response curves with 95% CI bands (one parameter), heatmaps (two), main effects
(more), scatter (Latin hypercube), Sobol and Morris indices with confidence intervals.

    from sim.sweep.figures import draw
    paths = draw("results/party_worker_ratio")     # PNG + SVG in results/party_worker_ratio/figures/
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.labels import label_with_unit  # noqa: E402
from sim.sweep import analysis, store  # noqa: E402

plt.rcParams["svg.fonttype"] = "none"  # SVG text stays text (editable, translatable)

FORMATS = ("png", "svg")
MAX_PANELS = 12

PNG_DPI = 300  # print resolution, as sim.figures
A4_TEXT_WIDTH_IN = 160 / 25.4


def kpi_label(kpi: str) -> str:
    """The planner's name of a KPI with its unit, from the one label table."""
    return label_with_unit(kpi, "en")


def param_label(key: str, spec: dict) -> str:
    """The experiment's ``label``, else the key path with a unit read from its name."""
    if spec.get("label"):
        return spec["label"]
    last = key.rsplit(".", 1)[-1]
    units = [
        ("_hours", "hours"), ("_days", "days"), ("per_hour", "per hour"), ("_per_year", "per year"),
        ("_share", "fraction"), ("_probability", "fraction"), ("count", "staff"), ("lines", "queues"),
        ("per", "units per worker"),
    ]  # fmt: skip
    if ".tasks_per_week." in f".{key}.":
        return f"{key} (tasks per week)"
    for suffix, unit in units:
        if last.endswith(suffix):
            return f"{key} ({unit})"
    return key


def draw(results_dir: str | Path) -> list[Path]:
    """Draw every figure that fits the sweep's design into ``<results_dir>/figures/``; returns the
    files written (PNG and SVG of each figure). Only successful runs are drawn."""
    results_dir = Path(results_dir)
    manifest = store.read_manifest(results_dir)
    table = store.read_results(results_dir)
    if not (table["status"] == "ok").any():
        raise ValueError(f"{results_dir}: no successful runs to draw")
    kpis = analysis.kpi_names(manifest, table)[:MAX_PANELS]
    specs = manifest["design"]["parameters"]
    params = list(specs)
    outdir = results_dir / "figures"
    outdir.mkdir(exist_ok=True)
    kind = manifest["design"]["type"]
    summary = analysis.point_summary(results_dir, table)
    title = f"{manifest['experiment']}: {manifest['replications']} replications per point, mean and 95% CI"
    paths: list[Path] = []
    if kind in ("sobol", "morris"):
        paths += _indices(results_dir, table, manifest, kpis, specs, outdir)
        paths += _scatter(summary, params, kpis, specs, outdir, manifest["experiment"])
    elif kind == "lhs":
        paths += _scatter(summary, params, kpis, specs, outdir, manifest["experiment"])
    else:
        varying = [p for p in params if summary[p].nunique() > 1]
        if len(varying) == 1:
            paths += _curves(summary, varying[0], None, kpis, specs, outdir, title)
        elif len(varying) == 2:
            a, b = sorted(varying, key=lambda p: -summary[p].nunique())
            paths += _heatmaps(summary, a, b, kpis, specs, outdir, title)
            if summary[b].nunique() <= 5:
                paths += _curves(summary, a, b, kpis, specs, outdir, title)
        else:
            for p in varying:
                paths += _main_effects(table, p, kpis, specs, outdir, manifest)
    return paths


def _grid(n: int, h: float = 2.4):
    """Panels filling an A4 text width (160 mm), so 8 pt text prints at 8 pt."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(A4_TEXT_WIDTH_IN, h * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _save(fig, outdir: Path, stem: str) -> list[Path]:
    for ax in fig.axes:  # long labels with units wrap instead of running off the panel
        ax.set_ylabel(textwrap.fill(ax.get_ylabel(), 36), fontsize=8)
        ax.set_xlabel(textwrap.fill(ax.get_xlabel(), 48), fontsize=8)
    if fig.get_suptitle():  # long titles wrap within the A4 width
        fig.suptitle(textwrap.fill(fig.get_suptitle(), 100), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.96))  # room for the suptitle
    paths = []
    for ext in FORMATS:
        p = outdir / f"{stem}.{ext}"
        fig.savefig(p, dpi=PNG_DPI if ext == "png" else None)
        paths.append(p)
    plt.close(fig)
    return paths


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _curves(summary, x, hue, kpis, specs, outdir, title) -> list[Path]:
    """Response curves: mean with its 95% CI band against one parameter (one line per ``hue`` level)."""
    fig, axes = _grid(len(kpis))
    groups = [(None, summary)] if hue is None else list(summary.groupby(hue, sort=True))
    for ax, k in zip(axes, kpis):
        for level, g in groups:
            g = g.sort_values(x)
            label = None if hue is None else f"{param_label(hue, specs[hue]).split(' (')[0]} = {level}"
            if _numeric(g[x]):
                line, = ax.plot(g[x], g[k], marker="o", ms=3, label=label)
                ax.fill_between(g[x], g[f"{k}_lo"], g[f"{k}_hi"], alpha=0.25, color=line.get_color(), lw=0)
            else:
                ax.errorbar(g[x].astype(str), g[k], yerr=[g[k] - g[f"{k}_lo"], g[f"{k}_hi"] - g[k]],
                            fmt="o", capsize=3, label=label)  # fmt: skip
        ax.set_xlabel(param_label(x, specs[x]))
        ax.set_ylabel(kpi_label(k))
        ax.grid(alpha=0.3)
        if hue is not None:
            ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    stem = f"response_{_slug(x)}" + ("" if hue is None else f"_by_{_slug(hue)}")
    return _save(fig, outdir, stem)


def _heatmaps(summary, x, y, kpis, specs, outdir, title) -> list[Path]:
    """Mean KPI over a grid of two parameters; empty cells are points not run (or skipped)."""
    fig, axes = _grid(len(kpis), h=2.6)
    for ax, k in zip(axes, kpis):
        grid = summary.pivot_table(index=y, columns=x, values=k, aggfunc="mean")
        im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(grid.shape[1]), [_tick(v) for v in grid.columns], fontsize=8, rotation=90)
        ax.set_yticks(range(grid.shape[0]), [_tick(v) for v in grid.index], fontsize=8)
        ax.set_xlabel(param_label(x, specs[x]))
        ax.set_ylabel(param_label(y, specs[y]))
        fig.colorbar(im, ax=ax).set_label(kpi_label(k), fontsize=8)
    fig.suptitle(title.replace(", mean and 95% CI", ", mean"), fontsize=9)
    return _save(fig, outdir, f"heatmap_{_slug(x)}_{_slug(y)}")


def _main_effects(table, p, kpis, specs, outdir, manifest) -> list[Path]:
    """Averaged over the other parameters: the mean of point means at each level, with a 95% CI
    over those point means."""
    from sim import intervals

    ok = table[table["status"] == "ok"]
    per_point = ok.groupby("point").agg({p: "first", **{k: "mean" for k in kpis}})
    fig, axes = _grid(len(kpis))
    for ax, k in zip(axes, kpis):
        cis = {level: intervals.interval(s, k) for level, s in per_point.groupby(p)[k]}
        stats = pd.DataFrame({"m": [c.mean for c in cis.values()], "lo": [c.low for c in cis.values()],
                              "hi": [c.high for c in cis.values()]}, index=list(cis))
        xs = stats.index.to_numpy()
        ax.plot(xs, stats["m"], marker="o", ms=3)
        ax.fill_between(xs, stats["lo"], stats["hi"], alpha=0.25, lw=0)
        ax.set_xlabel(param_label(p, specs[p]))
        ax.set_ylabel(kpi_label(k))
        ax.grid(alpha=0.3)
    fig.suptitle(f"{manifest['experiment']}: main effect of {p} (mean over the other parameters, 95% CI)", fontsize=9)
    return _save(fig, outdir, f"main_effect_{_slug(p)}")


def _scatter(summary, params, kpis, specs, outdir, name) -> list[Path]:
    """Each design point's mean KPI against each parameter (LHS, Sobol, Morris samples)."""
    paths = []
    for k in kpis[:6]:
        fig, axes = _grid(len(params), h=2.3)
        for ax, p in zip(axes, params):
            ax.scatter(summary[p].astype(float) if _numeric(summary[p]) else summary[p].astype(str), summary[k], s=8, alpha=0.6)
            ax.set_xlabel(param_label(p, specs[p]), fontsize=8)
            ax.set_ylabel(kpi_label(k), fontsize=8)
            ax.grid(alpha=0.3)
        fig.suptitle(f"{name}: {kpi_label(k)}, mean per design point", fontsize=9)
        paths += _save(fig, outdir, f"scatter_{_slug(k)}")
    return paths


def _indices(results_dir, table, manifest, kpis, specs, outdir) -> list[Path]:
    """Sobol S1/ST or Morris mu*/sigma per parameter, error bars = SALib's 95% bootstrap CI."""
    si = analysis.sensitivity(results_dir, table)
    if si.empty:
        return []
    si.to_csv(outdir / "sensitivity_indices.csv", index=False)
    shown = [k for k in kpis if k in set(si["kpi"])]
    fig, axes = _grid(len(shown), h=2.6)
    kind = manifest["design"]["type"]
    names = list(specs)
    short = [param_label(p, specs[p]).split(" (")[0] for p in names]
    for ax, k in zip(axes, shown):
        s = si[si["kpi"] == k]
        indices = list(dict.fromkeys(s["index"]))
        width = 0.8 / len(indices)
        for i, index in enumerate(indices):
            v = s[s["index"] == index].set_index("parameter").reindex(names)
            pos = np.arange(len(names)) + (i - (len(indices) - 1) / 2) * width
            err = None if v["conf"].isna().all() else v["conf"].to_numpy()
            ax.bar(pos, v["value"], width, yerr=err, capsize=2, label=index)
        ax.set_xticks(range(len(names)), short, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("Sobol index (share of variance)" if kind == "sobol" else f"Morris index ({kpi_label(k).split('(')[-1].rstrip(')')})", fontsize=8)
        ax.set_title(kpi_label(k), fontsize=8)
        ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=8)
    what = "first-order (S1) and total (ST) Sobol indices" if kind == "sobol" else "Morris mu* and sigma"
    fig.suptitle(f"{manifest['experiment']}: {what}, 95% CI", fontsize=9)
    return _save(fig, outdir, f"{kind}_indices")


def _tick(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float, np.number)) else str(v)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(text)).strip("_")
