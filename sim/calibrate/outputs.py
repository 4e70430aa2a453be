"""What ``streetsim calibrate`` writes into --out, beside the run stores (waves/, predict/):

    <scenario>_calibrated.yaml   extends: the original, with each calibrated value and its origin
    observed_vs_predicted.csv    each observed row: observed ± sd, prediction, 95% interval, verdict
    posterior.csv                each parameter: prior range, non-implausible range, posterior
    posterior_samples.csv        the posterior draws
    waves.csv                    history-matching waves: runs, region left, irreconcilable rows
    emulator_check.csv           each wave's emulator of each observed row, checked by leave-one-point-out
                                 (sim.calibrate.emulator): status, shares of runs beyond 2 and 3 sd, largest |z|
    emulator_check_runs.csv      each run's leave-one-out prediction, sd and standardised error z
    calibration.json             (the folder's manifest) gains "command": the command that reruns it
    figures/                     observed_vs_predicted_<lang>, posterior_marginals_<lang> (PNG, SVG, PDF),
                                 in Chinese (zh) and English (en)
    report.json                  sections for `streetsim report`; report_*_<lang>.csv: its narrow
                                 tables, headers and words in the report's language

The CSVs above keep English field names and words: other tools read them.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim import figures as style  # noqa: E402  (the one figure writer, and the one title breaker)
from sim import limits, safe_yaml  # noqa: E402
from sim import scenario as scenario_mod  # noqa: E402
from sim.calibrate.emulator import (  # noqa: E402
    BEYOND,
    BEYOND_NEAR,
    CHECKED,
    LOO_BEYOND_SHARE,
    LOO_MIN_POINTS,
    LOO_Z,
    LOO_Z_NEAR,
    expected_beyond,
)
from sim.calibrate.observed import CALIBRATED, calibrated_file, calibrated_model, changes  # noqa: E402
from sim.cells import ci_cell, missing, number  # noqa: E402
from sim.labels import LANGS, join_clauses, join_list, label, label_with_unit, parameter_label, unit, word  # noqa: E402
from sim.report import per_language  # noqa: E402
from sim.results_folder import CALIBRATION_MANIFEST, read_json, write_atomic  # noqa: E402

# one drawing per language: matplotlib text is not translated later
FIGURE_FIT = "figures/observed_vs_predicted_{lang}"
FIGURE_POSTERIOR = "figures/posterior_marginals_{lang}"
REPORT_FIT = "report_observed_vs_predicted_{lang}.csv"
REPORT_PARAMETERS = "report_parameters_{lang}.csv"
REPORT_POSTERIOR = "report_posterior_{lang}.csv"
REPORT_WAVES = "report_waves_{lang}.csv"
REPORT_CHECK = "report_emulator_check_{lang}.csv"


def write(result, out: Path, command: list[str] | None = None) -> list[str]:
    """Every output; ``command``, the one that reruns this calibration, goes in its manifest
    (the report's "command to reproduce")."""
    out = Path(out)
    if command is not None:
        record_command(out, command)
    files = [
        _csv(out / "observed_vs_predicted.csv", result.table),
        _csv(out / "posterior.csv", result.parameters),
        _csv(out / "posterior_samples.csv", pd.DataFrame(result.posterior.values, columns=result.space.names)),
        _csv(out / "waves.csv", waves_table(result)),
        _csv(out / "emulator_check.csv", result.history.check),
        _csv(out / "emulator_check_runs.csv", result.history.check_runs),
    ]
    files += [_csv(out / name, table) for name, table in report_tables(result).items()]
    fitted = fitted_scenario(result, out)
    files.append(fitted.name)
    files += figures(result, out)
    report = report_json(result, fitted.name)
    write_atomic(out / "report.json", lambda p: p.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"))
    files.append("report.json")
    return files


def record_command(out: Path, command: list[str]) -> None:
    """Into calibration.json (written by sim.calibrate.fit when the folder was claimed): the
    command of the calibration whose results are written now; a later one replaces it."""
    path = out / CALIBRATION_MANIFEST
    manifest = {**read_json(path), "command": command}
    write_atomic(path, lambda p: p.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"))


def _csv(path: Path, table: pd.DataFrame) -> str:
    write_atomic(path, lambda p: table.to_csv(p, index=False, float_format="%.6g"))
    return path.name


def waves_table(result) -> pd.DataFrame:
    obs = result.cal.spec.observed
    return pd.DataFrame([{
        "wave": w.index, "points": len(w.u), "runs": w.runs, "ran_now": w.ran, "already_stored": w.stored,
        "failed": w.failed, "non_implausible_share_of_ranges": w.region_share, "joint_fit": w.joint_fit,
        "irreconcilable": "; ".join(obs[j].quantity for j in w.irreconcilable),
    } for w in result.history.waves])  # fmt: skip


# --------------------------------------------------------------------------- report tables
def report_tables(result) -> dict[str, pd.DataFrame]:
    """Narrow tables for a report page, one per language (the full tables have too many columns
    to typeset, and their English field names and words are for other tools, not a reader)."""
    tables = {}
    for lang in LANGS:
        tables[REPORT_FIT.format(lang=lang)] = report_fit_table(result.table, lang)
        tables[REPORT_PARAMETERS.format(lang=lang)] = report_parameters_table(result.parameters, lang)
        tables[REPORT_POSTERIOR.format(lang=lang)] = report_posterior_table(result.parameters, lang)
        tables[REPORT_WAVES.format(lang=lang)] = report_waves_table(result, lang)
        tables[REPORT_CHECK.format(lang=lang)] = report_check_table(result.history.check, lang)
    return tables


def quantity_name(quantity: str, lang: str) -> str:
    """Its label with its unit, unless the label already ends with it ('... per resident per year')."""
    name = label(quantity, lang)
    return name if name.endswith(unit(quantity, lang)) else label_with_unit(quantity, lang)


def report_fit_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """observed_vs_predicted.csv narrowed: each observed quantity, the prediction and a verdict in ``lang``."""
    return pd.DataFrame([{
        word("observed_quantity", lang): quantity_name(r.quantity, lang),
        word("observed_value", lang): f"{number(r.observed, lang)} ± {number(r.observed_sd, lang)}",
        word("predicted_mean", lang): r.predicted_mean,
        word("predicted_interval", lang): ci_cell(r.predicted_q025, r.predicted_q975, lang),
        word("decision", lang): verdict_words(r, lang),
    } for r in table.itertuples(index=False)])  # fmt: skip


def verdict_words(row, lang: str) -> str:
    """The verdict of fit.verdict, short, in ``lang``: an irreconcilable row by its best implausibility
    anywhere in the ranges, the others by their z at the calibrated model."""
    if row.irreconcilable:
        return word("verdict_irreconcilable", lang, z=f"{row.smallest_implausibility_in_ranges:.1f}")
    key = "verdict_reproduced" if row.reproduced else "verdict_not_reproduced"
    return word(key, lang, z=f"{abs(row.z):.1f}")


def parameter_name(key_path: str, lang: str) -> str:
    """A calibrated parameter's name in ``lang`` (sim.labels), or its key path when it has none.

    Not sim.labels.key_path_name: that names a lever's key with no name of its own by its lever,
    and the posterior table, which has no key-path column, would show two such keys as one name."""
    return parameter_label(key_path, lang) or key_path


def report_parameters_table(params: pd.DataFrame, lang: str) -> pd.DataFrame:
    """posterior.csv's inputs: each parameter by its name and, to find it in the scenario, its key
    path (a long one in two lines: unbroken, it ran over the name beside it on the page)."""
    return pd.DataFrame([{
        word("parameter", lang): parameter_name(r.parameter, lang),
        word("key_path", lang): "\n".join(_halves(r.parameter)),
        word("scenario_value", lang): r.scenario_value,
        word("prior_range", lang): ci_cell(r.prior_min, r.prior_max, lang),
        word("scale", lang): word(f"scale_{r.scale}", lang),
    } for r in params.itertuples(index=False)])  # fmt: skip


def report_posterior_table(params: pd.DataFrame, lang: str) -> pd.DataFrame:
    """posterior.csv's results, each parameter by its name (a table of its own: with the inputs'
    columns it was too wide for a page)."""
    return pd.DataFrame([{
        word("parameter", lang): parameter_name(r.parameter, lang),
        word("non_implausible_range", lang): ci_cell(r.region_min, r.region_max, lang),
        word("calibrated_median", lang): r.calibrated_value,
        word("posterior_interval", lang): ci_cell(r.posterior_q025, r.posterior_q975, lang),
    } for r in params.itertuples(index=False)])  # fmt: skip


def report_waves_table(result, lang: str) -> pd.DataFrame:
    """waves.csv in ``lang``: the irreconcilable quantities by their labels."""
    obs = result.cal.spec.observed
    return pd.DataFrame([{
        word("wave", lang): w.index, word("points", lang): len(w.u), word("runs", lang): w.runs,
        word("ran_now", lang): w.ran, word("already_stored", lang): w.stored, word("failed_runs", lang): w.failed,
        word("region_share", lang): w.region_share,
        word("joint_fit", lang): word("yes" if w.joint_fit else "no", lang),
        word("irreconcilable_quantities", lang): join_list((label(obs[j].quantity, lang) for j in w.irreconcilable), lang)
                                                 or word("none", lang),
    } for w in result.history.waves])  # fmt: skip


def report_check_table(check: pd.DataFrame, lang: str) -> pd.DataFrame:
    """emulator_check.csv in ``lang``: each wave's emulator of each quantity, by its label."""
    return pd.DataFrame([{
        word("wave", lang): r["wave"], word("observed_quantity", lang): label(r["quantity"], lang), word("runs", lang): r["runs"],
        word("check_beyond", lang, z=f"{LOO_Z_NEAR:g}"): share_cell(r[BEYOND_NEAR], lang),
        word("check_beyond", lang, z=f"{LOO_Z:g}"): share_cell(r[BEYOND], lang),
        word("check_max_z", lang): number(r["max_abs_z"], lang),
        word("check_result", lang): word(f"check_{r['status']}", lang, n=LOO_MIN_POINTS),
    } for _, r in check.iterrows()])  # fmt: skip


def share_cell(x: float, lang: str) -> str:
    """A share of runs as a percentage ('1.2%'); the missing value for an emulator never fitted."""
    return missing(lang) if x != x else f"{x:.1%}"


def failed_checks(check: pd.DataFrame) -> list[tuple[str, list[int], float]]:
    """Each quantity whose emulator failed its leave-one-out check in some wave: the quantity, those
    waves, and its largest share of runs beyond emulator.LOO_Z sd."""
    if check.empty:
        return []
    failed = check[check["failed"]]
    return [(q, [int(w) for w in rows["wave"]], float(rows[BEYOND].max()))
            for q, rows in failed.groupby("quantity", sort=False)]  # fmt: skip


# --------------------------------------------------------------------------- fitted scenario
@dataclass
class Setting:
    """A value the command line's --set gave the model calibrated (in the fitted scenario's tree)."""

    value: object


@dataclass
class Calibrated:
    """A calibrated value and its row of posterior.csv (in the fitted scenario's tree)."""

    row: object
    value: object


def fitted_scenario(result, out: Path) -> Path:
    """``extends:`` the original scenario; the command line's --set and each calibrated value,
    with a comment on its origin. Loaded back before it is kept, so a file that does not
    validate is never left behind."""
    cal = result.cal
    path = calibrated_file(cal, out)
    rel = os.path.relpath(cal.scenario_file.resolve(), out.resolve())
    params = result.parameters
    model = calibrated_model(cal, dict(zip(params["parameter"], params["calibrated_value"])))
    tree = _settings(changes(cal.original, model))
    tree.pop("name", None)  # its own line: the model's name, calibrated
    for row in params.itertuples(index=False):  # every calibrated value, changed or not, with its comment
        node, value = tree, model
        parts = row.parameter.split(".")
        for k in parts[:-1]:
            node, value = node.setdefault(k, {}), value[k]
        # the value as the runs had it: a count's 12000, not the table column's 12000.0
        node[parts[-1]] = Calibrated(row, value[parts[-1]])
    name = scenario_mod.build(model, cal.scenario_file).name
    fitted_name = calibrated_name(name)
    shortened = [] if fitted_name == name + CALIBRATED else [
        f"# name: {scenario_mod.printable(name)}{CALIBRATED} would be over the scenario-name limit "
        f"({limits.MAX_NAME_CHARS} characters, {scenario_mod.MAX_NAME_BYTES} bytes in UTF-8): its start and a "
        "hash of the whole name instead"]  # fmt: skip
    lines = [*_header(result), *shortened, f"extends: {safe_yaml.inline(rel)}", f"name: {safe_yaml.inline(fitted_name)}",
             *_emit(tree, 0)]  # fmt: skip
    text = "\n".join(lines) + "\n"
    write_atomic(path, lambda p: (p.write_text(text, encoding="utf-8"), scenario_mod.load(p)))
    return path


NAME_HASH_CHARS = 8  # hex digits of the whole name's SHA-256 in a shortened name: two names that share
# their start still differ (a collision needs 2^32 names with one start)


def calibrated_name(name: str) -> str:
    """``name`` + ``_calibrated`` when that passes the scenario-name limit (sim.limits.MAX_NAME_CHARS
    characters, sim.scenario.MAX_NAME_BYTES bytes in UTF-8); else as much of ``name``'s start as fits
    before ``_<hash of the whole name>_calibrated``: recognisable by its start, unique by its hash,
    and a name the calibrated file loads with."""
    full = name + CALIBRATED
    if _name_fits(full):
        return full
    import hashlib

    tail = f"_{hashlib.sha256(name.encode()).hexdigest()[:NAME_HASH_CHARS]}{CALIBRATED}"
    keep = len(name)
    while not _name_fits(name[:keep] + tail):
        keep -= 1
    return name[:keep] + tail


def _name_fits(name: str) -> bool:
    return len(name) <= limits.MAX_NAME_CHARS and len(name.encode()) <= scenario_mod.MAX_NAME_BYTES


def _header(result) -> list[str]:
    """The fitted scenario's opening comments (names and settings made one line: scenario.printable)."""
    cal, one_line = result.cal, scenario_mod.printable
    lines = [
        f"# {one_line(cal.scenario_file.name)} calibrated against {one_line(cal.file.name)} by `streetsim calibrate`:",
        f"# history matching ({len(result.history.waves)} waves, implausibility cutoff {cal.spec.method.cutoff:g}), then the",
        "# posterior by importance sampling on Gaussian-process emulators. Each value is the posterior median.",
        f"# {result.runs_total} runs.",
    ]
    if cal.overrides:
        lines.append(f"# The calibration's --set, written below as settings: {one_line(' '.join(cal.overrides))}")
    if cal.spec.method.set:  # a shorter horizon, say: the calibration's runs, not the model calibrated
        lines.append(f"# Not written here: the observed file's method.set ({one_line(' '.join(cal.spec.method.set))}), "
                     "how the calibration's runs were made, not part of the model.")  # fmt: skip
    if result.history.irreconcilable:
        names = ", ".join(cal.spec.observed[j].quantity for j in result.history.irreconcilable)
        lines.append(f"# NOT reproduced anywhere in the ranges (left out of the fit): {names}")
    if not result.history.joint_fit:
        lines.append("# NO joint fit: these are the least implausible values, not a fit (see report.json)")
    if failed_checks(result.history.check):  # the terminal's warning lines (sim.labels' words), as comments
        from sim.calibrate.commands import check_lines

        lines += ["# " + line.removeprefix("! ") for line in check_lines(result.history.check)]
    return lines


def _settings(changes: dict) -> dict:
    """``changes`` with each value a Setting (a mapping a --set gave as its value is walked into)."""
    return {k: _settings(v) if isinstance(v, dict) and v else Setting(v) for k, v in changes.items()}


def _emit(tree: dict, depth: int) -> list[str]:
    pad = "  " * depth
    lines = []
    for key, node in tree.items():
        # a role or case type named `on` or `no` is quoted: bare, YAML reads it as true or false
        key = safe_yaml.inline(key)
        if isinstance(node, dict):
            lines.append(f"{pad}{key}:")
            lines += _emit(node, depth + 1)
        elif isinstance(node, Setting):
            lines.append(f"{pad}{key}: {safe_yaml.inline(node.value)}   # set on the calibration's command line (--set)")
        else:
            row = node.row
            lines.append(
                f"{pad}{key}: {safe_yaml.inline(node.value)}   # calibrated: posterior median; mean {row.posterior_mean:.4g}, "
                f"95% interval [{row.posterior_q025:.4g}, {row.posterior_q975:.4g}]; prior range "
                f"[{row.prior_min:g}, {row.prior_max:g}]; was {row.scenario_value}"
            )
    return lines


# --------------------------------------------------------------------------- figures
def figures(result, out: Path) -> list[str]:
    """Both figures in each language (the report takes the ones in its own language)."""
    files = []
    for lang in LANGS:
        drawn = style.use_language(lang)  # English with a warning when no CJK font is installed
        for stem, fig in ((FIGURE_FIT, observed_vs_predicted(result.table, drawn)),
                          (FIGURE_POSTERIOR, posterior_marginals(result, drawn))):
            files += [str(p.relative_to(out)) for p in style.save(fig, out, stem.format(lang=lang))]
    return files


# Both figures are the A4 text width (sim.figures.FULL_WIDTH_IN) at their print size, so their
# 8 pt text prints at 8 pt; panels two a row (each ~3.1 in: a title of 34 letters, a key path of
# 40), more rows rather than narrower panels.
PANELS_PER_ROW = 2
FIT_ROW_IN = 2.4  # a row of observed-vs-predicted panels, its title included
POSTERIOR_ROW_IN = 2.6  # a row of posterior panels with key-path titles
POSTERIOR_NAMED_ROW_IN = 3.0  # ... with the parameter's name over its key path (a line or two taller)
LEGEND_PAD_IN = 0.1  # between the legend and the page's edge


def _panels(n: int, row_in: float):
    """``n`` panels, PANELS_PER_ROW a row, over the full text width; rows shorter when there are
    so many that the figure would be taller than the page's text."""
    cols = min(PANELS_PER_ROW, n)
    rows = math.ceil(n / cols)
    height = min(row_in * rows, style.TEXT_HEIGHT_IN - 1.0)  # room left for the legend
    fig, axes = plt.subplots(rows, cols, figsize=(style.FULL_WIDTH_IN, height), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, axes


def _legend_below(fig, axes) -> None:
    """The first panel's legend under every panel, inside the figure: it is saved at its own size
    (sim.figures.save), so a legend hung below it would be cut off. As many columns as fit the
    figure's width (the entries in two lines or more when one is too long); the figure grows by
    the legend's height only, its width stays the page's."""
    handles, labels = axes.flat[0].get_legend_handles_labels()
    renderer = fig.canvas.get_renderer()
    room = fig.get_figwidth() - 2 * LEGEND_PAD_IN
    for ncol in range(len(labels), 0, -1):
        legend = fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=style.FONT_PT)
        box = legend.get_window_extent(renderer)
        if box.width / fig.dpi <= room or ncol == 1:
            break
        legend.remove()
    height = box.height / fig.dpi + LEGEND_PAD_IN
    fig.set_figheight(fig.get_figheight() + height)
    fig.tight_layout(rect=(0, height / fig.get_figheight(), 1, 1))


def observed_vs_predicted(table: pd.DataFrame, lang: str):
    fig, axes = _panels(len(table), FIT_ROW_IN)
    for ax, r in zip(axes.flat, table.itertuples(index=False)):
        total = math.sqrt(r.observed_sd**2 + r.discrepancy_sd**2)
        ax.errorbar([0], [r.observed], yerr=[[2 * total]], fmt="none", ecolor="#bbbbbb", elinewidth=6, capsize=0,
                    label=word("observed_with_discrepancy", lang))  # fmt: skip
        ax.errorbar([0], [r.observed], yerr=[[2 * r.observed_sd]], fmt="o", color="black", capsize=4,
                    label=word("observed_2sd", lang))  # fmt: skip
        colour = "#55a868" if r.reproduced else "#c44e52"
        ax.errorbar([1], [r.predicted_mean], yerr=[[r.predicted_mean - r.predicted_q025], [r.predicted_q975 - r.predicted_mean]],
                    fmt="s", color=colour, capsize=4, label=word("calibrated_model_interval", lang))  # fmt: skip
        # 'not reproduced' under the model's tick, in its colour: inside the panel, at 8 pt, it ran
        # into the observed bars
        model = word("model_tick", lang) + ("" if r.reproduced else "\n" + word("not_reproduced", lang))
        ax.set_xticks([0, 1], [word("observed_tick", lang), model])
        if not r.reproduced:
            ax.get_xticklabels()[1].set_color(colour)
        ax.set_xlim(-0.6, 1.6)
        ax.set_title(_title(quantity_name(r.quantity, lang), lang), fontsize=style.FONT_PT)
        ax.tick_params(labelsize=style.FONT_PT)
    _legend_below(fig, axes)
    return fig


def posterior_marginals(result, lang: str):
    space, post, params = result.space, result.posterior, result.parameters
    named = any(parameter_label(p, lang) for p in params["parameter"])  # titles a line or two taller
    fig, axes = _panels(space.dim, POSTERIOR_NAMED_ROW_IN if named else POSTERIOR_ROW_IN)
    for j, (ax, r) in enumerate(zip(axes.flat, params.itertuples(index=False))):
        log = r.scale == "log"
        bins = np.geomspace(r.prior_min, r.prior_max, 31) if log else np.linspace(r.prior_min, r.prior_max, 31)
        ax.hist(post.values[:, j], bins=bins, color="#4c72b0", alpha=0.8, label=word("posterior", lang))
        ax.axvspan(r.region_min, r.region_max, color="#dddddd", zorder=0, label=word("non_implausible_range", lang))
        ax.axvline(r.calibrated_value, color="black", lw=1.2, label=word("calibrated_median_line", lang))
        if isinstance(r.scenario_value, (int, float)):
            ax.axvline(r.scenario_value, color="#dd8452", lw=1.2, ls="--", label=word("scenario_before", lang))
        if log:  # ticks as plain numbers: the exponents of 10^-1 were set at 70% of 8 pt
            ax.set_xscale("log")
            few_decades = r.prior_max / r.prior_min <= 30  # 1, 2 and 5 of each decade; else decades only
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0) if few_decades else (1.0,)))
            ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlim(r.prior_min, r.prior_max)
        ax.set_yticks([])
        ax.set_title(_parameter_title(r.parameter, lang), fontsize=style.FONT_PT)
        ax.tick_params(labelsize=style.FONT_PT)
    _legend_below(fig, axes)
    return fig


def _parameter_title(key_path: str, lang: str) -> str:
    """Its name over its key path (to find it in the scenario); a long key path in two lines."""
    name = parameter_label(key_path, lang)
    return "\n".join([*([_title(name, lang)] if name else []), *_halves(key_path)])


def _halves(key_path: str, width: int = 40) -> list[str]:
    """A key path longer than ``width`` broken at the dot nearest its middle."""
    dots = [i for i, c in enumerate(key_path) if c == "."]
    if len(key_path) <= width or not dots:
        return [key_path]
    cut = min(dots, key=lambda i: abs(i - len(key_path) / 2)) + 1
    return [key_path[:cut], key_path[cut:]]


def _title(text: str, lang: str) -> str:
    """A panel title over lines of 34 letters, or 22 CJK characters (sim.figures' width 37)."""
    return style.wrap(text, lang, 34 if lang == "en" else 37)


# --------------------------------------------------------------------------- report.json
def report_json(result, fitted_name: str) -> dict:
    cal, hist, table = result.cal, result.history, result.table
    m = cal.spec.method
    name = cal.spec.calibration
    bad = table[~table["reproduced"]]
    if bad.empty:
        en_verdict = f"The calibrated model reproduces every observed quantity within its uncertainty (|z| ≤ {m.cutoff:g})."
        zh_verdict = f"校准后的模型在不确定性范围内（|z| ≤ {m.cutoff:g}）再现了全部观测量。"
    else:
        en_verdict = "Not reproduced within its uncertainty: " + join_clauses(
            (f"{label(r.quantity, 'en')} — {r.verdict}" for r in bad.itertuples(index=False)), "en") + "."
        # the table's short verdict (verdict_words): an irreconcilable row by its smallest
        # implausibility in the ranges, as the table and the English verdict give it
        zh_verdict = "以下观测量未能在其不确定性范围内再现：" + join_clauses((
            f"{label(r.quantity, 'zh')}（观测 {r.observed:.4g}，模型 {r.predicted_mean:.4g}，差 {r.predicted_mean - r.observed:+.4g}，"
            f"{verdict_words(r, 'zh')}）" for r in bad.itertuples(index=False)), "zh") + "。"  # fmt: skip
    joint_en = "" if hist.joint_fit else (" No parameter values fit all reconcilable quantities at once: the values "
                                          "reported are the least implausible ones, not a fit.")  # fmt: skip
    joint_zh = "" if hist.joint_fit else "没有任何参数组合能同时拟合全部可调和的观测量：报告的是最不失真的取值，而非拟合结果。"
    failed_en, failed_zh = check_warning(hist.check)
    ess = f"{result.posterior.ess:.0f}"
    return {
        "title": {"zh": f"模型校准：{cal.scenario_file.stem} 对照 {name}", "en": f"Calibration: {cal.scenario_file.stem} against {name}"},
        "sections": [
            {
                "heading": {"zh": "结论", "en": "Result"},
                "text": {
                    "zh": f"共 {result.runs_total} 次模拟（{len(hist.waves)} 轮历史匹配，每轮 {m.points} 个参数点 × {m.replications} 次重复，"
                          f"另加校准点与后验抽样的预测运行）。{zh_verdict}{joint_zh}{failed_zh}校准后的情景文件为 {fitted_name}。",
                    "en": f"{result.runs_total} simulation runs ({len(hist.waves)} history-matching waves of {m.points} points × "
                          f"{m.replications} replications, then prediction runs at the calibrated point and at posterior draws). "
                          f"{en_verdict}{joint_en}{failed_en} The calibrated scenario is {fitted_name}.",
                },
                "tables": [{"caption": {"zh": "观测值与校准模型预测（95%预测区间）", "en": "Observed against the calibrated model's prediction (95% interval)"},
                            "csv": per_language(REPORT_FIT)}],
                "figures": [{"caption": {"zh": "观测值（±2个标准差）与校准模型预测", "en": "Observed (± 2 sd) and the calibrated model's prediction"},
                             "file": per_language(FIGURE_FIT + ".png")}],
            },
            {
                "heading": {"zh": "参数的后验分布", "en": "Posterior of the parameters"},
                "text": {
                    "zh": f"后验由高斯过程仿真器（scikit-learn）的高斯似然在非失真区域内做重要性抽样得到，有效样本量 {ess}。"
                          "校准值取后验中位数，区间为 2.5%–97.5% 分位数。",
                    "en": f"The posterior is importance sampling over the non-implausible region with the Gaussian-process "
                          f"emulators' (scikit-learn) Gaussian likelihood; effective sample size {ess}. Calibrated values are "
                          "posterior medians; intervals are the 2.5–97.5% quantiles.",
                },
                "tables": [{"caption": {"zh": "校准的参数：情景原值与先验范围", "en": "The parameters calibrated: scenario value and prior range"},
                            "csv": per_language(REPORT_PARAMETERS)},
                           {"caption": {"zh": "各参数：非失真范围与后验", "en": "Each parameter: non-implausible range and posterior"},
                            "csv": per_language(REPORT_POSTERIOR)}],
                "figures": [{"caption": {"zh": "参数后验边缘分布", "en": "Posterior marginals of the parameters"},
                             "file": per_language(FIGURE_POSTERIOR + ".png")}],
            },
            {
                "heading": {"zh": "历史匹配", "en": "History matching"},
                "text": {
                    "zh": f"失真度 I = |观测 − 模拟期望| / sqrt（观测方差 + 模型偏差方差 + 模拟噪声方差 + 仿真器方差），截断值 {m.cutoff:g}；"
                          f"模型偏差标准差默认取观测值绝对值的 {cal.spec.discrepancy_share:.0%}。在整个参数范围内都无法低于截断值的观测量判为不可调和，"
                          "报告其差距并从拟合中剔除。",
                    "en": f"Implausibility I = |observed − E[simulated]| / sqrt(Var_obs + Var_discrepancy + Var_noise + Var_emulator), "
                          f"cutoff {m.cutoff:g}; the model-discrepancy sd is {cal.spec.discrepancy_share:.0%} of |observed| unless a row "
                          "states its own. A quantity that stays above the cutoff everywhere in the ranges is irreconcilable: it is "
                          "reported with its gap and left out of the fit.",
                },
                "tables": [{"caption": {"zh": "各轮历史匹配", "en": "History-matching waves"}, "csv": per_language(REPORT_WAVES)}],
                "figures": [],
            },
            check_section(hist.check),
        ],
    }


def check_warning(check: pd.DataFrame, see: bool = True) -> tuple[str, str]:
    """The sentence (English, Chinese) on emulators that failed their check, pointing to the report's
    section on it when ``see``; '' if none failed."""
    failed = failed_checks(check)
    if not failed:
        return "", ""
    en = join_clauses((f"{label(q, 'en')} (wave {join_list(waves, 'en')}: {share:.1%} of its runs)" for q, waves, share in failed), "en")
    zh = join_clauses((f"{label(q, 'zh')}（第{join_list(waves, 'zh')}轮：{share:.1%}的运行）" for q, waves, share in failed), "zh")
    return (f" EMULATOR CHECK FAILED for {en}: more than {LOO_BEYOND_SHARE:.0%} of the runs beyond {LOO_Z:g} sd of their "
            "leave-one-out prediction, so the implausibility cut and the posterior rest on emulators that misfit"
            + (" (see Emulator check)." if see else "."),
            f"仿真器检验未通过：{zh}，其留一法标准化误差超出 {LOO_Z:g} 个标准差的运行多于 {LOO_BEYOND_SHARE:.0%}；"
            "失真度截断与后验所依据的仿真器拟合不当" + ("（见“仿真器检验”）。" if see else "。"))  # fmt: skip


def check_section(check: pd.DataFrame) -> dict:
    """The report's section on the emulators' leave-one-out check: the method, the last wave's
    figures for each quantity, and which emulators failed."""
    last = check[check["wave"] == check["wave"].max()] if not check.empty else check
    figures = [(r["quantity"], r[BEYOND], r["max_abs_z"]) for _, r in last.iterrows() if r["status"] in CHECKED]
    expected = f"{expected_beyond(LOO_Z):.2%}"
    none_en = "" if figures else "No emulator was checked in the last wave (see the table). "
    none_zh = "" if figures else "最后一轮没有可检验的仿真器（见表）。"
    en_last = join_clauses((f"{label(q, 'en')} {share:.1%} (largest |z| {number(z)})" for q, share, z in figures), "en")
    zh_last = join_clauses((f"{label(q, 'zh')} {share:.1%}（最大 |z| {number(z, 'zh')}）" for q, share, z in figures), "zh")
    failed_en, failed_zh = check_warning(check, see=False)
    return {
        "heading": {"zh": "仿真器检验", "en": "Emulator check"},
        "text": {
            "zh": "失真度截断之前先检验仿真器（Vernon、Goldstein与Bower 2010；Andrianakis等 2015）：每轮每个观测量的仿真器，"
                  "逐个留出一个参数点（连同其各次重复），由其余参数点的运行预测它（超参数取拟合值，Rasmussen与Williams 2006 式5.12），"
                  f"标准化误差 z =（预测 − 运行值）/ 预测标准差。仿真器正确时 |z| > {LOO_Z:g} 的概率为 {expected}；"
                  f"超出 {LOO_Z:g} 个标准差的运行多于 {LOO_BEYOND_SHARE:.0%} 即判为未通过；参数点少于 {LOO_MIN_POINTS} 个不检验。"
                  + (f"最后一轮超出 {LOO_Z:g} 个标准差的运行比例：{zh_last}。" if figures else none_zh)
                  + (failed_zh.strip() or ("各仿真器均通过。" if figures else "")),
            "en": "Before its implausibility cut is trusted, each wave's emulator of each quantity is checked (Vernon, Goldstein "
                  "& Bower 2010; Andrianakis et al. 2015): each design point's runs are left out in turn and predicted from the "
                  "runs at every other point (hyperparameters as fitted; Rasmussen & Williams 2006, eq. 5.12), with standardised "
                  f"error z = (prediction − run) / predictive sd. Under a correct Gaussian predictive P(|z| > {LOO_Z:g}) = "
                  f"{expected}; more than {LOO_BEYOND_SHARE:.0%} of a quantity's runs beyond {LOO_Z:g} sd fails the emulator; "
                  f"fewer than {LOO_MIN_POINTS} design points are not checked. "
                  + (f"Runs beyond {LOO_Z:g} sd in the last wave: {en_last}. " if figures else none_en)
                  + (failed_en.strip() or ("Every emulator checked passes." if figures else "")),
        },
        "tables": [{"caption": {"zh": "各轮仿真器的留一法检验", "en": "Each wave's emulators checked by leave-one-out"},
                    "csv": per_language(REPORT_CHECK)}],
        "figures": [],
    }
