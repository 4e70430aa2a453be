"""Figures for proposals printed on A4, in Chinese or English.

``draw(results_dir, lang)`` reads what ``streetsim run`` / ``compare`` / a district run wrote
and draws into ``results_dir/figures/`` in ``lang``; sweeps are drawn by :mod:`sim.sweep.figures`,
in ``lang`` too (the figures of a folder are in one language, redrawn by ``report`` in its own).

Every figure is sized for an A4 page with 25 mm margins (text width 160 mm): full width
(``FULL_WIDTH_IN``) or half width (``HALF_WIDTH_IN``), drawn at that size with text of at
least 8 pt. Every command's figures (these, a sweep's, a calibration's, a staffing plan's) are
written by :func:`save`, as PNG (300 dpi), SVG (text kept as text, so it can be edited and
translated) and PDF (fonts embedded). Labels come from :mod:`sim.labels`; Chinese needs a CJK
font (Debian's ``fonts-noto-cjk``): :func:`use_language` finds one, rebuilding matplotlib's
font cache when the font was installed after the cache was made, and falls back to English
with one line on stderr when there is none.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from sim import compare, intervals, results_folder  # noqa: E402
from sim.labels import join_list, label, label_with_unit, replications_text, word  # noqa: E402

MM = 1 / 25.4
FULL_WIDTH_IN = 160 * MM  # A4 (210 mm) less two 25 mm margins
HALF_WIDTH_IN = 78 * MM  # half the text width, less a 4 mm gutter
TEXT_HEIGHT_IN = 247 * MM  # A4 (297 mm) less two 25 mm margins: the tallest a figure may be
FONT_PT = 8  # smallest text on the printed page
TITLE_PT = 9
PNG_DPI = 300
FORMATS = results_folder.FIGURE_FORMATS  # every figure of every command, written by save()
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Noto Serif CJK SC")
LATIN_FAMILY = "DejaVu Sans"
# KPIs drawn as bars when nothing changed (or for a single run); the first ones present are used.
BAR_KPIS = (
    "on_time_resident", "on_time_standard", "wait_mean_days", "wait_p90_days", "closure_rate", "reopen_rate",
    "bounces_per_case", "hotline_escalation_rate", "resident_satisfaction",
    "on_time_rate", "mean_days_to_close", "p90_days_to_close",  # results written before issue 8
)
MAX_BARS = 9
MAX_FOREST_ROWS = 24
ACTIVITY_COLOURS = {
    "casework": "#1f77b4", "travel": "#17becf", "devolved_tasks": "#d62728", "data_collection": "#ff9896",
    "investment_promotion": "#9467bd", "idle": "#c7c7c7",
}
COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3"]


def draw(results_dir: str | Path, lang: str = "en") -> list[Path]:
    """Draw every figure for a results folder; returns the files written. All or nothing: the
    figures are drawn into a temporary folder and moved into ``figures/`` only once every one is
    drawn (results_folder.write_whole), so a drawing that fails midway leaves ``figures/`` as it was."""
    results_dir = Path(results_dir)
    manifest = results_folder.read_json(results_dir / "manifest.json")
    # a drawing killed midway left its temporary folder beside figures/, or a file in it
    results_folder.remove_dead_writers_files(results_dir, recursive=False)
    if (results_dir / "figures").is_dir():
        results_folder.remove_dead_writers_files(results_dir / "figures")
    if manifest.get("kind") == "sweep":
        from sim.sweep import figures as sweep_figures

        return results_folder.write_whole(results_dir / "figures", lambda tmp: sweep_figures.draw(results_dir, lang, tmp))
    return results_folder.write_whole(results_dir / "figures", lambda tmp: _draw_run(results_dir, manifest, lang, tmp))


def _draw_run(results_dir: Path, manifest: dict, lang: str, out: Path) -> list[Path]:
    """A run, compare or district folder's figures (results_folder.KIND_FIGURES), into ``out``."""
    lang = use_language(lang)
    runs = results_folder.scenario_folders(results_dir, manifest)
    summaries = {n: pd.read_csv(d / "summary.csv") for n, d in runs.items()}
    table = compare.comparison_table(summaries)
    drawers = {"differences": lambda: forest(table, out, lang), "kpi_bars": lambda: kpi_bars(table, out, lang),
               "backlog": lambda: backlog(runs, out, lang), "staff_time": lambda: staff_time(runs, out, lang)}  # fmt: skip
    return [f for name in results_folder.KIND_FIGURES[manifest["kind"]] for f in drawers[name]()]


# --- fonts ---------------------------------------------------------------------------------

def cjk_family() -> str | None:
    """The name of an installed CJK font family, or None; rebuilds a stale font cache once."""
    family = _find_cjk()
    if family is None:
        # The cache may predate fonts-noto-cjk: read the system fonts again (and rewrite the
        # cache). Update the manager in place: backends hold references to it.
        fresh = font_manager._load_fontmanager(try_read_cache=False)
        font_manager.fontManager.__dict__.update(fresh.__dict__)
        font_manager.fontManager._findfont_cached.cache_clear()
        family = _find_cjk()
    return family


def _find_cjk() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in names), None)


def use_language(lang: str) -> str:
    """Set matplotlib's fonts for ``lang``; returns the language actually used."""
    cjk = cjk_family()
    if lang == "zh" and cjk is None:
        print("warning: no CJK font found (install fonts-noto-cjk); figures are drawn in English",
              file=sys.stderr)
        lang = "en"
    # Latin text in DejaVu for English; CJK first for Chinese; each falls back on the other,
    # so a Chinese scenario name still draws in an English figure.
    families = [LATIN_FAMILY, cjk] if lang == "en" else [cjk, LATIN_FAMILY]
    plt.rcParams.update({
        "font.family": [f for f in families if f],
        "font.size": FONT_PT, "axes.titlesize": TITLE_PT, "axes.labelsize": FONT_PT,
        "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
        "figure.titlesize": TITLE_PT,
        "svg.fonttype": "none",  # SVG keeps text as text
        "pdf.fonttype": 42, "ps.fonttype": 42,  # embed TrueType/OpenType, not Type 3 outlines
        "axes.unicode_minus": False,  # the ASCII minus exists in every font
    })
    return lang


def save(fig, out: Path, stem: str) -> list[Path]:
    """Write ``fig`` as ``out/<stem>.<format>`` in every one of FORMATS and close it; the one figure
    writer of every command (runs, sweeps, calibrations, staffing plans), so each figure an author
    may print comes as PNG at PNG_DPI, SVG with its text as text and PDF with its fonts embedded
    (the rcParams :func:`use_language` sets). ``stem`` may name a subfolder ('figures/fit_zh').

    At the figure's own size: no tight bbox, the print size is the size (a module lays its figure
    out, legends included, before it calls this). Each file is written whole or not at all: a
    report may read the folder while its figures are redrawn."""
    paths = [out / f"{stem}.{ext}" for ext in FORMATS]
    for p in paths:
        ext = p.suffix[1:]
        results_folder.write_atomic(p, lambda tmp, ext=ext: fig.savefig(tmp, format=ext, dpi=PNG_DPI if ext == "png" else "figure"))
        # The first drawing placed everything (constrained layout, in fractions of the page, so
        # the same at any dpi): the other formats keep that layout rather than compute it again.
        fig.set_layout_engine("none")
    plt.close(fig)
    return paths


# --- figures ---------------------------------------------------------------------------------

def forest(table: pd.DataFrame, out: Path, lang: str) -> list[Path]:
    """Paired differences against the first scenario, as % of its mean, with 95% CIs; filled
    where the CI excludes 0, '*' where the KPI changed after the Benjamini–Hochberg correction."""
    names = list(dict.fromkeys(table["scenario"]))
    base = names[0]
    tested = table[table["status"].isin([compare.CHANGED, compare.UNCHANGED]) & table["relative_change"].notna()]
    # the strongest evidence of a change first (smallest p-value), not the largest relative
    # change: a count near 0 (exits) has huge relative changes that say little
    rank = tested.groupby("kpi")["p_value"].min().sort_values(kind="stable")
    base_means = table[table["scenario"] == base].set_index("kpi")["mean"].abs()
    # long KPI names are wrapped so the plot keeps to the page's width (a label that does not
    # fit pushes the axes, title and axis label off the page: clipped in the PDF)
    row_labels = {k: wrap(label(k, lang), lang, 44) for k in rank.index[:MAX_FOREST_ROWS]}
    lines = max([r.count("\n") + 1 for r in row_labels.values()] or [1])
    row_in = 0.19 * (1 + 0.6 * (lines - 1)) * max(1, (len(names) - 1) ** 0.5)  # each scenario a row's part
    # as many rows as fit on the page: with many scenarios, fewer KPIs (comparison.csv has all)
    fit = max(3, int((TEXT_HEIGHT_IN - 0.95) / row_in))
    kpis = list(rank.index[:min(MAX_FOREST_ROWS, fit)])[::-1]  # top row first
    row_labels = [row_labels[k] for k in kpis]
    height = min(TEXT_HEIGHT_IN, 0.95 + row_in * max(len(kpis), 3))
    fig, ax = plt.subplots(figsize=(FULL_WIDTH_IN, height), layout="constrained")
    step = 0.7 / max(len(names) - 1, 1)
    for k, name in enumerate(names[1:]):
        rows = tested[tested["scenario"] == name].set_index("kpi").reindex(kpis)
        y = np.arange(len(kpis)) + (k - (len(names) - 2) / 2) * step
        scale = 100 / base_means.reindex(kpis).to_numpy()
        mid, lo, hi = (rows[c].to_numpy() * scale for c in ("diff_mean", "diff_ci_low", "diff_ci_high"))
        excludes = (lo > 0) | (hi < 0)
        colour = COLOURS[(k + 1) % len(COLOURS)]
        ax.errorbar(mid, y, xerr=[mid - lo, hi - mid], fmt="none", ecolor=colour, elinewidth=1, capsize=2)
        ax.scatter(mid[excludes], y[excludes], color=colour, s=16, zorder=3,
                   label=word("named", lang, name=name, what=word("ci_excludes_0", lang)))
        ax.scatter(mid[~excludes], y[~excludes], facecolor="white", edgecolor=colour, s=16, zorder=3,
                   label=word("named", lang, name=name, what=word("ci_includes_0", lang)))
        for yi, xi, changed in zip(y, hi, rows["status"].to_numpy() == compare.CHANGED):
            if changed:
                ax.annotate("*", (xi, yi), xytext=(3, -3), textcoords="offset points", fontsize=FONT_PT)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(np.arange(len(kpis)), row_labels)
    ax.set_xlabel(word("forest_axis", lang))
    # over the figure, not the axes: long row labels push the axes right, and a title centred
    # on them ran off the page
    fig.suptitle(wrap(word("forest_title", lang, name=join_list(names[1:], lang), base=base), lang, 60))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(frameon=False, loc="lower right")
    return save(fig, out, "differences")


def bar_kpis(table: pd.DataFrame) -> list[str]:
    """The KPIs that changed most (compare) or the usual service KPIs."""
    changed = table[table["status"] == compare.CHANGED]
    if not changed.empty:
        rank = changed.groupby("kpi")["relative_change"].apply(lambda s: s.abs().max()).sort_values(ascending=False)
        return list(rank.index[:MAX_BARS])
    present = set(table["kpi"])
    return [k for k in BAR_KPIS if k in present][:MAX_BARS]


def kpi_bars(table: pd.DataFrame, out: Path, lang: str) -> list[Path]:
    """One panel per KPI: a bar per scenario with its 95% CI (the method that fits the KPI)."""
    kpis = bar_kpis(table)
    names = list(dict.fromkeys(table["scenario"]))
    ncols = 3
    nrows = max(1, int(np.ceil(len(kpis) / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(FULL_WIDTH_IN, 0.6 + 2.0 * nrows), squeeze=False,
                             layout="constrained")
    t = table.set_index(["kpi", "scenario"])
    for ax, kpi in zip(axes.flat, kpis):
        rows = t.loc[kpi].reindex(names)
        means = rows["mean"].to_numpy()
        # clip: a bound equal to the mean can differ from it by rounding
        err = np.clip(np.nan_to_num([means - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - means]), 0, None)
        x = np.arange(len(names))
        ax.bar(x, means, yerr=err, capsize=3, color=COLOURS[: len(names)], edgecolor="black", linewidth=0.4,
               error_kw={"elinewidth": 1})
        ax.set_xticks(x, names, rotation=20 if len(names) > 1 else 0, ha="right" if len(names) > 1 else "center")
        ax.set_title(wrap(label_with_unit(kpi, lang), lang), fontsize=FONT_PT)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(kpis):]:
        ax.axis("off")
    fig.suptitle(word("kpi_bars_title", lang, reps=replications_text(table.attrs.get("replications", "?"), lang)))
    return save(fig, out, "kpi_bars")


def backlog(runs: dict[str, Path], out: Path, lang: str) -> list[Path]:
    """Open cases at the end of each day: mean over replications with its 95% CI band (half width)."""
    fig, ax = plt.subplots(figsize=(HALF_WIDTH_IN, 2.4), layout="constrained")
    for colour, (name, folder) in zip(COLOURS, runs.items()):
        ts = pd.read_parquet(folder / "timeseries.parquet", columns=["replication", "day", "open_cases"])
        g = ts.groupby("day")["open_cases"]
        mean, sem, n = g.mean(), g.sem().fillna(0), g.count()
        # one replication has no band (and needs no t quantile, nor scipy.stats's import)
        half = sem * intervals.t_quantile(0.975, np.maximum(n - 1, 1)) if n.max() > 1 else sem * 0.0
        ax.plot(mean.index, mean.values, color=colour, label=name, linewidth=1.2)
        ax.fill_between(mean.index, np.maximum(mean - half, 0), mean + half, color=colour, alpha=0.25, linewidth=0)
    ax.set_xlabel(word("backlog_x", lang))
    ax.set_ylabel(word("backlog_y", lang))
    ax.set_title(wrap(word("backlog_title", lang), lang, 36))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return save(fig, out, "backlog")


STAFF_TIME_ROLE_IN = 0.17  # a role's bar with its 8 pt label
STAFF_TIME_PANEL_IN = 0.7  # a panel's title and axis label
STAFF_TIME_FRAME_IN = 0.6  # the figure's title (one line) and legend
TITLE_LINE_IN = 0.2  # one more line of a 9 pt title
STAFF_TIME_COLUMNS = 2


def staff_time(runs: dict[str, Path], out: Path, lang: str) -> list[Path]:
    """Staff time by activity per role, as shares of working hours; one panel per scenario.
    As many scenarios as fit an A4 page's text, the first (the baseline) first; each scenario's
    roles.csv has them all."""
    every = {n: pd.read_csv(f / "roles.csv") for n, f in runs.items()}
    roles = list(dict.fromkeys(r for t in every.values() for r in t["role"]))
    panel_in = STAFF_TIME_ROLE_IN * len(roles) + STAFF_TIME_PANEL_IN
    title = word("staff_time_title", lang)
    # rows of panels that fit, with room for the title to say that some scenarios are left out
    fit = max(1, int((TEXT_HEIGHT_IN - STAFF_TIME_FRAME_IN - TITLE_LINE_IN) / panel_in))
    tables = dict(list(every.items())[:fit * STAFF_TIME_COLUMNS])
    if len(tables) < len(every):
        title = wrap(title + word("staff_time_shown", lang, shown=len(tables), n=len(every)), lang, 90)
    ncols = min(len(tables), STAFF_TIME_COLUMNS)
    nrows = int(np.ceil(len(tables) / ncols))
    # capped too when one panel alone is taller than the page (scores of roles): bars narrow
    height = min(TEXT_HEIGHT_IN, nrows * panel_in + STAFF_TIME_FRAME_IN + TITLE_LINE_IN * title.count("\n"))
    fig, axes = plt.subplots(nrows, ncols, figsize=(FULL_WIDTH_IN, height),
                             sharey=True, squeeze=False, layout="constrained")
    for ax, (name, t) in zip(axes.flat, tables.items()):
        mean = t.groupby("role").mean(numeric_only=True).reindex(roles)
        left = np.zeros(len(roles))
        # Activities include overtime, idle is on-duty time unworked: together they fill
        # on-duty plus overtime hours exactly.
        total = (mean["available"] + mean["overtime"]).replace(0, np.nan)
        for act, colour in ACTIVITY_COLOURS.items():
            share = (mean[act] / total).fillna(0).to_numpy()
            ax.barh([label(r, lang) for r in roles], share, left=left, color=colour, label=label(act, lang),
                    edgecolor="white", linewidth=0.4)
            left += share
        ax.set_xlim(0, 1)
        ax.set_xlabel(wrap(word("staff_time_x", lang), lang, 28))
        ax.set_title(name)
        ax.grid(axis="x", alpha=0.3)
    for ax in list(axes.flat)[len(tables):]:
        ax.axis("off")
    axes[0][0].invert_yaxis()
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    fig.suptitle(title)
    return save(fig, out, "staff_time")


def wrap(text: str, lang: str, width: int = 30) -> str:
    """Break a long title over lines (by characters in Chinese, by words in English)."""
    if lang == "zh":
        w = round(width * 0.6)  # a CJK character is about twice as wide as a Latin letter
        return "\n".join(text[i:i + w] for i in range(0, len(text), w))
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
