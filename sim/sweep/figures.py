"""Sweep figures: response curves with 95% CI bands (one parameter), heatmaps (two), main effects
(more), scatter (Latin hypercube), Sobol and Morris indices with confidence intervals.

    from sim.sweep.figures import draw
    paths = draw("results/party_worker_ratio", "zh")  # PNG, SVG, PDF in results/party_worker_ratio/figures/

Words, KPIs and swept parameters are named by :mod:`sim.labels` in the figure's language (an
experiment's own ``label`` names a parameter the table does not); fonts as
:func:`sim.figures.use_language` sets them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on a cluster node
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim import figures as style  # noqa: E402
from sim.cells import value  # noqa: E402
from sim.labels import (  # noqa: E402
    label,
    label_with_unit,
    named_key_path,
    replications_text,
    short_name,
    unit,
    word,
)
from sim.sweep import analysis, store  # noqa: E402

MAX_PANELS = 12

LEGEND_ROW_IN = 0.17  # a row of 8 pt legend entries
LEGEND_PAD_IN = 0.1


@dataclass(frozen=True)
class Names:
    """How one sweep's figures name things in ``lang``: a parameter by its name in sim.labels,
    else by the experiment's own ``label`` (one language, the author's), else by its key path;
    a KPI with its unit. The table's name wins so a Chinese figure is Chinese."""

    specs: dict
    lang: str

    def axis(self, p: str) -> str:
        """A parameter's axis: its name over its key path."""
        return named_key_path(p, self.lang, self.specs[p].get("label"))

    def short(self, p: str) -> str:
        """A parameter in a legend, a tick or a title: its own name without its unit, else its key
        path (not its lever's name, which two keys of one lever share)."""
        return short_name(p, self.lang, self.specs[p].get("label"))

    def kpi(self, k: str) -> str:
        return label_with_unit(k, self.lang)

    def word(self, key: str, **fields) -> str:
        return word(key, self.lang, **fields)


def draw(results_dir: str | Path, lang: str = "en", into: Path | None = None) -> list[Path]:
    """Draw every figure that fits the sweep's design into ``<results_dir>/figures/`` (or ``into``:
    sim.figures.draw gives a temporary folder, moved into place once all are drawn) in ``lang``
    (English, with a warning, when no CJK font is installed); returns the files written (each figure
    in sim.figures.FORMATS). Only successful runs are drawn."""
    results_dir = Path(results_dir)
    lang = style.use_language(lang)
    manifest = store.read_manifest(results_dir)
    table = store.read_results(results_dir)
    if not (table["status"] == "ok").any():
        raise ValueError(f"{results_dir}: no successful runs to draw")
    kpis = analysis.kpi_names(manifest, table)[:MAX_PANELS]
    if not kpis:  # a folder from before `kpis: []` was refused: a grid of no panels divided by zero
        raise ValueError(f"the sweep kept no KPIs (its manifest's kpis: {manifest['kpis']!r}); there is nothing to draw")
    specs = manifest["design"]["parameters"]
    names = Names(specs, lang)
    params = list(specs)
    outdir = Path(into) if into is not None else results_dir / "figures"
    outdir.mkdir(exist_ok=True)
    kind = manifest["design"]["type"]
    summary = analysis.point_summary(results_dir, table)
    reps = replications_text(manifest["replications"], lang)
    title = names.word("sweep_title", name=manifest["experiment"], reps=reps)
    paths: list[Path] = []
    if kind in ("sobol", "morris"):
        paths += _indices(results_dir, table, manifest, kpis, names, outdir)
        paths += _scatter(summary, params, kpis, names, outdir, manifest["experiment"])
    elif kind == "lhs":
        paths += _scatter(summary, params, kpis, names, outdir, manifest["experiment"])
    else:
        varying = [p for p in params if summary[p].nunique() > 1]
        if len(varying) == 1:
            paths += _curves(summary, varying[0], None, kpis, names, outdir, title)
        elif len(varying) == 2:
            a, b = sorted(varying, key=lambda p: -summary[p].nunique())
            paths += _heatmaps(summary, a, b, kpis, names, outdir,
                               names.word("sweep_heatmap_title", name=manifest["experiment"], reps=reps))
            if summary[b].nunique() <= 5:
                paths += _curves(summary, a, b, kpis, names, outdir, title)
        else:
            for p in varying:
                paths += _main_effects(table, p, kpis, names, outdir, manifest)
    return paths


def _grid(n: int, h: float = 2.4):
    """Panels filling an A4 text width (sim.figures.FULL_WIDTH_IN, 160 mm), so 8 pt text prints at 8 pt."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(style.FULL_WIDTH_IN, h * rows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def _save(fig, outdir: Path, stem: str, lang: str, legend_in: float = 0.0) -> list[Path]:
    """Wrap long labels, lay the panels out above ``legend_in`` inches kept for a legend, and write
    it in every format (sim.figures.save)."""
    if legend_in:
        fig.set_figheight(fig.get_figheight() + legend_in)
    for ax in fig.axes:  # long labels with units wrap instead of running off the panel
        ax.set_ylabel(_wrap_lines(ax.get_ylabel(), lang, 36), fontsize=8)
        ax.set_xlabel(_wrap_lines(ax.get_xlabel(), lang, 48), fontsize=8)
    if fig.get_suptitle():  # long titles wrap within the A4 width
        fig.suptitle(_wrap_lines(fig.get_suptitle(), lang, 80), fontsize=9)
    fig.tight_layout(rect=(0, legend_in / fig.get_figheight(), 1, 0.96))  # room for the suptitle
    return style.save(fig, outdir, stem)


def _wrap_lines(text: str, lang: str, width: int) -> str:
    """Each line wrapped on its own, so a name stays over its key path; a key path stays whole."""
    return "\n".join(line if line.isascii() and " " not in line else style.wrap(line, "en" if line.isascii() else lang, width)
                     for line in text.split("\n"))


def _numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _curves(summary, x, hue, kpis, names, outdir, title) -> list[Path]:
    """Response curves: mean with its 95% CI band against one parameter (one line per ``hue`` level)."""
    fig, axes = _grid(len(kpis))
    groups = [(None, summary)] if hue is None else list(summary.groupby(hue, sort=True))
    for ax, k in zip(axes, kpis):
        for level, g in groups:
            g = g.sort_values(x)
            legend = None if hue is None else value(level, names.lang)
            if _numeric(g[x]):
                line, = ax.plot(g[x], g[k], marker="o", ms=3, label=legend)
                ax.fill_between(g[x], g[f"{k}_lo"], g[f"{k}_hi"], alpha=0.25, color=line.get_color(), lw=0)
            else:
                ax.errorbar(g[x].astype(str), g[k], yerr=[g[k] - g[f"{k}_lo"], g[f"{k}_hi"] - g[k]],
                            fmt="o", capsize=3, label=legend)  # fmt: skip
        ax.set_xlabel(names.axis(x))
        ax.set_ylabel(names.kpi(k))
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    legend_in = 0.0 if hue is None else _legend_below(fig, names.short(hue))
    return _save(fig, outdir, _response_stem(x, hue), names.lang, legend_in)


def _legend_below(fig, title: str) -> float:
    """One legend for every panel, under them, titled by the parameter its lines stand for (one in
    each panel covered its curves and ran off the page); returns its height in inches."""
    handles, levels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, levels, title=title, loc="lower center", ncol=len(levels), fontsize=8, title_fontsize=8,
               frameon=False)  # fmt: skip
    return 2 * LEGEND_ROW_IN + LEGEND_PAD_IN  # its title and one row (at most five levels: see draw)


def _heatmaps(summary, x, y, kpis, names, outdir, title) -> list[Path]:
    """Mean KPI over a grid of two parameters; empty cells are points not run (or skipped)."""
    fig, axes = _grid(len(kpis), h=2.6)
    for ax, k in zip(axes, kpis):
        grid = summary.pivot_table(index=y, columns=x, values=k, aggfunc="mean")
        im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(grid.shape[1]), [value(v, names.lang) for v in grid.columns], fontsize=8, rotation=90)
        ax.set_yticks(range(grid.shape[0]), [value(v, names.lang) for v in grid.index], fontsize=8)
        ax.set_xlabel(names.axis(x))
        ax.set_ylabel(names.axis(y))
        fig.colorbar(im, ax=ax).set_label(names.kpi(k), fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _save(fig, outdir, _heatmap_stem(x, y), names.lang)


def _main_effects(table, p, kpis, names, outdir, manifest) -> list[Path]:
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
        ax.set_xlabel(names.axis(p))
        ax.set_ylabel(names.kpi(k))
        ax.grid(alpha=0.3)
    fig.suptitle(names.word("main_effect_title", name=manifest["experiment"], what=names.short(p)), fontsize=9)
    return _save(fig, outdir, _main_effect_stem(p), names.lang)


def _scatter(summary, params, kpis, names, outdir, name) -> list[Path]:
    """Each design point's mean KPI against each parameter (LHS, Sobol, Morris samples)."""
    paths = []
    for k in kpis[:6]:
        fig, axes = _grid(len(params), h=2.3)
        for ax, p in zip(axes, params):
            ax.scatter(summary[p].astype(float) if _numeric(summary[p]) else summary[p].astype(str), summary[k], s=8, alpha=0.6)
            ax.set_xlabel(names.axis(p), fontsize=8)
            ax.set_ylabel(names.kpi(k), fontsize=8)
            ax.grid(alpha=0.3)
        fig.suptitle(names.word("scatter_title", name=name, kpi=names.kpi(k)), fontsize=9)
        paths += _save(fig, outdir, _scatter_stem(k), names.lang)
    return paths


def _indices(results_dir, table, manifest, kpis, names, outdir) -> list[Path]:
    """Sobol S1/ST or Morris mu*/sigma per parameter, error bars = SALib's 95% bootstrap CI."""
    si = analysis.sensitivity(results_dir, table)
    if si.empty:
        return []
    si.to_csv(outdir / "sensitivity_indices.csv", index=False)
    shown = [k for k in kpis if k in set(si["kpi"])]
    fig, axes = _grid(len(shown), h=2.6)
    kind = manifest["design"]["type"]
    params = list(names.specs)
    short = [names.short(p) for p in params]
    for ax, k in zip(axes, shown):
        s = si[si["kpi"] == k]
        indices = list(dict.fromkeys(s["index"]))
        width = 0.8 / len(indices)
        for i, index in enumerate(indices):
            v = s[s["index"] == index].set_index("parameter").reindex(params)
            pos = np.arange(len(params)) + (i - (len(indices) - 1) / 2) * width
            err = None if v["conf"].isna().all() else v["conf"].to_numpy()
            ax.bar(pos, v["value"], width, yerr=err, capsize=2, label=index)
        ax.set_xticks(range(len(params)), [_wrap_lines(t, names.lang, 24) for t in short], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(_index_axis(kind, k, names.lang), fontsize=8)
        ax.set_title(_wrap_lines(names.kpi(k), names.lang, 36), fontsize=8)
        ax.axhline(0, color="k", lw=0.5)
        ax.legend(fontsize=8)
    fig.suptitle(names.word(f"{kind}_title", name=manifest["experiment"]), fontsize=9)
    return _save(fig, outdir, f"{kind}_indices", names.lang)


def _index_axis(kind: str, kpi: str, lang: str) -> str:
    """A Sobol index is a share of variance; a Morris index is in the KPI's unit."""
    if kind == "sobol":
        return word("sobol_axis", lang)
    return word("morris_axis", lang, unit=unit(kpi, lang) or label(kpi, lang))


def captions(manifest: dict, kpis: list[str], lang: str) -> dict[str, str]:
    """The caption, in ``lang``, of every figure ``draw`` can write for this sweep, by file stem."""
    names = Names(manifest["design"]["parameters"], lang)
    params = list(names.specs)
    found = {f"{kind}_indices": word(f"fig_{kind}_indices", lang) for kind in ("sobol", "morris")}
    found |= {_scatter_stem(k): word("fig_scatter", lang, what=label(k, lang)) for k in kpis}
    for x in params:
        found[_response_stem(x)] = word("fig_response", lang, what=names.short(x))
        found[_main_effect_stem(x)] = word("fig_main_effect", lang, what=names.short(x))
        for y in (p for p in params if p != x):
            by = word("fig_by", lang, what=names.short(x), hue=names.short(y))
            found[_response_stem(x, y)] = word("fig_response", lang, what=by)
            against = word("fig_against", lang, x=names.short(x), y=names.short(y))
            found[_heatmap_stem(x, y)] = word("fig_heatmap", lang, what=against)
    return found


def _response_stem(x: str, hue: str | None = None) -> str:
    return f"response_{_slug(x)}" + ("" if hue is None else f"_by_{_slug(hue)}")


def _heatmap_stem(x: str, y: str) -> str:
    return f"heatmap_{_slug(x)}_{_slug(y)}"


def _main_effect_stem(p: str) -> str:
    return f"main_effect_{_slug(p)}"


def _scatter_stem(kpi: str) -> str:
    return f"scatter_{_slug(kpi)}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(text)).strip("_")
