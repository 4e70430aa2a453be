"""What the annex says: a list of blocks (headings, paragraphs, tables, figures, notes) built
from a results folder; :mod:`sim.report.typeset` turns the blocks into a PDF."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pandas as pd

from sim import compare, figures, intervals, results_folder
from sim import notes as notes_mod
from sim.cells import ci_cell, missing, number, percent, value
from sim.labels import LANGS, WORDS, join_list, label, label_with_unit, named_key_path, replications_text, word
from sim.report import typeset
from sim.report.typeset import check_out_file
from sim.scenario import ScenarioError

MAX_LEVER_ROWS = 40
MAX_POINT_ROWS = 40  # design points listed in a sweep's tables (every point is in sweep-results)
KPIS_PER_POINT_TABLE = 4
WIDE_LEVER_TABLE = 4  # up to this many scenarios side by side; a district's streets one per row
SIMULATION_KINDS = ("run", "compare", "district", "sweep")
SOBOL_MIN_BASE_SAMPLES = 500  # below this Saltelli estimates are rough (wide CIs, negative S1)


def build(results_dir: str | Path, lang: str = "en", out: str | Path | None = None,
          draw_figures: bool = True) -> Path:
    """Write the annex PDF (default ``RESULTS/report_<lang>.pdf``); returns its path."""
    results_dir = Path(results_dir)
    manifest = _manifest(results_dir)
    if lang == "zh" and figures.cjk_family() is None:
        print("warning: no CJK font found (install fonts-noto-cjk); the report is written in English",
              file=sys.stderr)
        lang = "en"
    default = results_dir / f"report_{lang}.pdf"
    out = Path(out) if out else default
    check_out_file(out, out == default)  # before anything is drawn or written
    extra = read_extra_sections(results_dir)  # checked before any work
    kind = manifest.get("kind")
    if draw_figures and kind in SIMULATION_KINDS:
        figures.draw(results_dir, lang)
    if kind == "sweep":
        blocks = sweep_blocks(results_dir, manifest, lang)
    elif kind in SIMULATION_KINDS:
        blocks = run_blocks(results_dir, manifest, lang)
    else:  # e.g. a calibration folder: its own sections (report.json) make the annex
        blocks = []
    blocks += extra_blocks(results_dir, extra, lang)
    blocks += software_blocks(manifest, lang)
    typeset.compile_pdf({"lang": lang, "title": title(manifest, lang), "blocks": blocks}, out)
    return out


# A calibration keeps its manifest under its own name (kind "calibration"; see sim.calibrate.fit).
MANIFEST_NAMES = ("manifest.json", results_folder.CALIBRATION_MANIFEST)


def _manifest(results_dir: Path) -> dict:
    path = next((results_dir / n for n in MANIFEST_NAMES if (results_dir / n).exists()), None)
    if path is None:
        raise ScenarioError(results_dir, "", "not a results folder (no manifest.json)")
    try:
        manifest = results_folder.read_json(path)
    except (ValueError, OSError) as e:  # truncated, not JSON, not UTF-8, unreadable, a pipe
        raise ScenarioError(path, "", f"not a readable manifest: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(manifest, dict):
        raise ScenarioError(path, "", "not a readable manifest: not a mapping")
    return manifest


def title(manifest: dict, lang: str) -> str:
    # a calibration's manifest names it by the observed file's `calibration:` (sim.calibrate.fit)
    names = manifest.get("scenario_names") or [manifest.get("experiment") or manifest.get("scenario_name")
                                               or manifest.get("calibration", "")]
    kind = f"kind_{manifest.get('kind')}"
    what = word(kind, lang) if kind in WORDS else str(manifest.get("kind", ""))
    return word("report_title", lang, what=what, names=" / ".join(str(n) for n in names))


# --- blocks ----------------------------------------------------------------------------------

def heading(text, level=1):
    return {"type": "heading", "level": level, "text": text}


def para(text):
    return {"type": "para", "text": text}


def bullets(items):
    return {"type": "list", "items": list(items)}


def table(headers, rows, caption="", align=None):
    align = align or ["left"] + ["right"] * (len(headers) - 1)
    return {"type": "table", "headers": [str(h) for h in headers], "rows": [[str(c) for c in r] for r in rows],
            "caption": caption, "align": align}


def figure(path: Path, caption: str, width: int = 100):
    return {"type": "figure", "file": str(Path(path).resolve()), "caption": caption, "width": width}


def note(text):
    return {"type": "note", "text": text}


# --- run, compare, district ------------------------------------------------------------------

def run_blocks(results_dir: Path, manifest: dict, lang: str) -> list[dict]:
    runs = results_folder.scenario_folders(results_dir, manifest)
    summaries = {n: pd.read_csv(d / "summary.csv") for n, d in runs.items()}
    if manifest["kind"] == "district":  # the district as a whole; streets in their own table
        summaries = {manifest["scenario_names"][0]: pd.read_csv(results_dir / "summary.csv")}
    cmp = compare.comparison_table(summaries)
    resolved = {n: results_folder.read_resolved_scenario(d) for n, d in runs.items()}
    blocks = [heading(word("sec_method", lang))]
    blocks += method_blocks(manifest, resolved, lang)
    blocks += [heading(word("sec_headline", lang))]
    blocks += headline_blocks(cmp, lang) if manifest["kind"] == "compare" else means_blocks(cmp, lang)
    if manifest["kind"] == "district":
        blocks += street_blocks(results_dir, lang)
    blocks += [heading(word("sec_figures", lang))] + figure_blocks(results_dir / "figures", lang)
    if manifest["kind"] != "district":
        blocks += [heading(word("sec_staffing", lang))] + staffing_blocks(runs, lang)
    blocks += [heading(word("sec_assumptions", lang))] + assumption_blocks(manifest, lang)
    if manifest["kind"] == "compare":
        blocks += [heading(word("sec_all_kpis", lang))] + all_kpi_blocks(cmp, lang)
    return blocks


def method_blocks(manifest: dict, resolved: dict[str, dict], lang: str) -> list[dict]:
    first = next(iter(resolved.values()))
    items = [f"{n}: {r.get('description', '')}".rstrip(": ") for n, r in resolved.items()]
    facts = [
        word("fact_replications", lang, reps=replications_text(manifest["replications"], lang), seed=manifest["seed"]),
        word("fact_horizon", lang, days=first["horizon"]["days"], warmup=first["horizon"]["warmup_days"]),
    ]
    if manifest["kind"] == "compare":
        facts.append(word("fact_crn", lang))
    facts.append(word("fact_intervals", lang))
    blocks = [para(word("scenarios_compared", lang)), bullets(items), bullets(facts)]
    if len(resolved) > 1:
        rows = [[named_key_path(key, lang), *values] for key, *values in lever_differences(resolved)]
        if rows and len(resolved) > WIDE_LEVER_TABLE:  # ten streets side by side do not fit a page
            rows = [[key if i == 0 else "", name, value]
                    for key, *values in rows for i, (name, value) in enumerate(zip(resolved, values))]
            headers = [word("lever", lang), word("scenario", lang), word("value", lang)]
        else:
            headers = [word("lever", lang), *resolved]
        if rows:
            shown = rows[:MAX_LEVER_ROWS]
            blocks.append(table(headers, shown, word("levers_differ", lang), ["left"] * len(headers)))
            if len(rows) > len(shown):
                blocks.append(para(word("more_rows", lang, n=len(rows) - len(shown))))
        else:
            blocks.append(para(word("no_lever_differs", lang)))
    return blocks


def lever_differences(resolved: dict[str, dict]) -> list[list[str]]:
    """Key paths whose value differs between the resolved scenarios, with each value."""
    flat = {n: dict(_flatten({k: v for k, v in r.items() if k not in ("name", "description")}))
            for n, r in resolved.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    rows = []
    for k in keys:
        values = [f.get(k, "—") for f in flat.values()]
        if any(v != values[0] for v in values):
            rows.append([k, *(_shortvalue(v) for v in values)])
    return rows


def _flatten(d, prefix=""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _flatten(v, f"{prefix}{k}.")
    else:
        yield prefix.rstrip("."), d


def _shortvalue(v) -> str:
    text = json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def headline_blocks(cmp: pd.DataFrame, lang: str) -> list[dict]:
    names = list(dict.fromkeys(cmp["scenario"]))
    base = names[0]
    t = cmp.set_index(["scenario", "kpi"])
    blocks = []
    for name in names[1:]:
        rows = compare.headline(cmp, name)
        tested = cmp[(cmp["scenario"] == name) & cmp["status"].isin([compare.CHANGED, compare.UNCHANGED])]
        changed = int((tested["status"] == compare.CHANGED).sum())  # the rows shown also hold the lead KPIs
        blocks.append(para(word("headline_intro", lang, name=name, base=base, n=changed, tested=len(tested))))
        if not rows.empty:
            body = [[label_with_unit(r.kpi, lang), _ci_text(t.loc[(base, r.kpi)], lang),
                     _ci_text(t.loc[(name, r.kpi)], lang), _diff_text(r, lang), percent(r.relative_change, lang)]
                    for r in rows.itertuples()]
            blocks.append(table([word("kpi", lang), base, name, word("paired_difference", lang), "Δ %"], body,
                                word("headline_caption", lang, name=name, base=base)))
        inputs = cmp[(cmp["scenario"] == name) & cmp["status"].isin([compare.INPUT, compare.FIXED])
                     & (cmp["diff_mean"].fillna(1) != 0)]
        if not inputs.empty:
            body = [[label_with_unit(r.kpi, lang), number(t.loc[(base, r.kpi)]["mean"], lang), number(r.mean, lang),
                     number(r.diff_mean, lang, True)] for r in inputs.itertuples()]
            blocks.append(table([word("inputs", lang), base, name, "Δ"], body, word("inputs_caption", lang)))
    blocks.append(note(word("method_note", lang)))
    return blocks


def means_blocks(cmp: pd.DataFrame, lang: str) -> list[dict]:
    body = [[label_with_unit(r.kpi, lang), number(r.mean, lang), ci_cell(r.ci_low, r.ci_high, lang),
             intervals.method_name(r.ci_method, lang)] for r in cmp.itertuples()]
    return [table([word("kpi", lang), word("mean", lang), word("ci95", lang), word("method", lang)], body,
                  word("means_caption", lang, reps=replications_text(cmp.attrs.get("replications", "?"), lang)),
                  ["left", "right", "right", "left"])]


def all_kpi_blocks(cmp: pd.DataFrame, lang: str) -> list[dict]:
    names = list(dict.fromkeys(cmp["scenario"]))
    t = cmp.set_index(["scenario", "kpi"])
    kpis = list(dict.fromkeys(cmp["kpi"]))
    body = []
    for k in kpis:
        row = [label_with_unit(k, lang)]
        row += [_ci_text(t.loc[(n, k)], lang) if (n, k) in t.index else missing(lang) for n in names]
        for n in names[1:]:
            r = t.loc[(n, k)] if (n, k) in t.index else None
            row.append(missing(lang) if r is None else _status_text(r, lang))
        body.append(row)
    headers = [word("kpi", lang), *names, *(f"Δ {n}" for n in names[1:])]
    return [table(headers, body, word("all_kpis_caption", lang)), note(word("method_note", lang))]


def _ci_text(r, lang) -> str:
    return f"{number(r['mean'], lang)} {ci_cell(r['ci_low'], r['ci_high'], lang)}"


def _diff_text(r, lang) -> str:
    mark = " *" if r.status == compare.CHANGED else ""
    return f"{number(r.diff_mean, lang, True)} {ci_cell(r.diff_ci_low, r.diff_ci_high, lang, True)}{mark}"


def _status_text(r, lang) -> str:
    if r["status"] in (compare.INPUT, compare.FIXED):
        return f"{number(r['diff_mean'], lang, True)} ({word('status_' + r['status'], lang)})"
    mark = " *" if r["status"] == compare.CHANGED else ""
    return f"{number(r['diff_mean'], lang, True)} {ci_cell(r['diff_ci_low'], r['diff_ci_high'], lang, True)}{mark}"


def street_blocks(results_dir: Path, lang: str) -> list[dict]:
    streets = pd.read_csv(results_dir / "streets.csv")
    kpis = [k for k in streets.columns if k not in compare.NOT_KPIS][:6]
    means = streets.groupby("street", sort=False)[kpis].mean()
    body = [[name, *(number(v, lang) for v in row)] for name, row in means.iterrows()]
    return [table([word("street", lang), *(label_with_unit(k, lang) for k in kpis)], body,
                  word("streets_caption", lang))]


FIGURE_ORDER = ("differences", "kpi_bars", "backlog", "staff_time")


def figure_blocks(folder: Path, lang: str, captions: dict[str, str] | None = None) -> list[dict]:
    """Each figure in ``folder`` with its caption: from ``captions`` (a sweep's, by file stem), else
    the figure's word in sim.labels, else its file name."""
    blocks = []
    pngs = sorted(folder.glob("*.png"), key=lambda p: (FIGURE_ORDER.index(p.stem) if p.stem in FIGURE_ORDER else 99, p.stem))
    for png in pngs:
        key = f"fig_{png.stem}"
        caption = (captions or {}).get(png.stem) or (word(key, lang) if key in WORDS else png.stem.replace("_", " "))
        width = 50 if png.stem == "backlog" else 100
        blocks.append(figure(png, caption, width))
    return blocks


def staffing_blocks(runs: dict[str, Path], lang: str) -> list[dict]:
    blocks = []
    for name, folder in runs.items():
        roles = pd.read_csv(folder / "roles.csv")
        first = roles[roles["replication"] == roles["replication"].min()]
        body, total_posts, total_cost = [], 0, 0.0
        for r in first.itertuples():
            cost = r.posts * r.cost_per_year
            total_posts += r.posts
            total_cost += cost
            body.append([label(r.role, lang), f"{r.posts:g}", number(r.cost_per_year, lang), number(cost, lang)])
        body.append([word("total", lang), f"{total_posts:g}", "", number(total_cost, lang)])
        blocks.append(table([word("role", lang), word("posts", lang), word("cost_per_post", lang),
                             word("role_cost", lang)], body, word("staffing_caption", lang, name=name)))
    return blocks


NOT_READ_WORDS = {"missing": "file_missing", "not_scenario": "file_not_scenario"}  # sim.notes.recorded's reasons


def assumption_blocks(manifest: dict, lang: str) -> list[dict]:
    """Each scenario file's assumptions and sources, as the run read them (its manifest keeps
    them); a results folder from before runs kept them has its files read as they are now."""
    kept = manifest.get("scenario_notes")
    if kept is None:
        kept = notes_mod.recorded(manifest.get("scenarios", []))
    blocks = []
    for entry in kept:
        file = entry["file"]
        if entry.get("not_read"):  # missing, no scenario, or a pipe, a device or a file over 1 MB: named, not read
            blocks.append(note(word(NOT_READ_WORDS.get(entry["not_read"], "file_not_read"), lang, file=file)))
            continue
        blocks.append(heading(file, 2))
        if entry["header"]:
            blocks.append(para(" ".join(entry["header"])))
        if entry["assumptions"]:
            blocks.append(table([word("key_path", lang), word("assumption", lang)], entry["assumptions"],
                                word("assumptions_caption", lang), ["left", "left"]))
        if entry["sources"]:
            blocks.append(table([word("key_path", lang), word("source", lang)], entry["sources"],
                                word("sources_caption", lang), ["left", "left"]))
        if entry.get("cut"):
            blocks.append(note(word("notes_cut", lang, mb=f"{notes_mod.NOTES_BYTES / 1e6:g}", file=file)))
    return blocks


# --- sweeps ----------------------------------------------------------------------------------

def sweep_blocks(results_dir: Path, manifest: dict, lang: str) -> list[dict]:
    from sim.sweep import analysis, store
    from sim.sweep.figures import captions

    design = manifest["design"]
    blocks = [heading(word("sec_method", lang)), para(manifest.get("description", ""))]
    blocks.append(bullets([
        word("fact_experiment", lang, file=manifest.get("experiment_file", ""), scenario=manifest.get("scenario_file", "")),
        word("fact_design", lang, design=_design_name(design["type"], lang), points=design["points"], runs=design["runs"]),
        word("fact_replications", lang, reps=replications_text(manifest["replications"], lang), seed=manifest["seed"]),
        word("fact_crn", lang),
    ]))
    params = [[_swept_name(p, manifest, lang), spec.get("label", ""), _range_text(spec, lang)]
              for p, spec in design["parameters"].items()]
    blocks.append(table([word("parameter", lang), word("description", lang), word("values", lang)], params,
                        word("parameters_caption", lang), ["left", "left", "left"]))
    table_ = store.read_results(results_dir)
    summary = analysis.point_summary(results_dir, table_)
    blocks += [heading(word("sec_responses", lang))]
    blocks += figure_blocks(results_dir / "figures", lang, captions(manifest, analysis.kpi_names(manifest, table_), lang))
    blocks += point_table_blocks(summary, manifest, table_, lang)
    if design["type"] in ("sobol", "morris"):
        blocks += [heading(word("sec_sensitivity", lang))] + sensitivity_blocks(results_dir, table_, manifest, lang)
    return blocks


def _design_name(design_type: str, lang: str) -> str:
    key = f"design_{design_type}"
    return word(key, lang) if key in WORDS else str(design_type)


def _range_text(spec: dict, lang: str) -> str:
    """A swept parameter's values as every table's numbers: '1.5, 2.24' ('1.5、2.24'); '100 … 250，步长25';
    '1 … 3，3个水平'; a distribution by its words ('正态，均值2，标准差0.5')."""
    if "values" in spec:
        return join_list((value(v, lang) for v in spec["values"]), lang)
    v = {k: value(x, lang) for k, x in spec.items() if k in ("min", "max", "step", "num", "mode", "mean", "sd")}
    dist = spec.get("dist", "uniform")
    if dist in ("normal", "lognormal"):
        return word(f"dist_{dist}", lang, mean=v["mean"], sd=v["sd"])
    span = f"{v['min']} … {v['max']}"
    if dist == "truncated_normal":
        return word("dist_truncated_normal", lang, mean=v["mean"], sd=v["sd"]) + span
    if dist in ("log_uniform", "triangular"):
        return span + word(f"dist_{dist}", lang, mode=v.get("mode"))
    if "step" in v:
        return span + word("range_step", lang, step=v["step"])
    return span + (word("range_num", lang, n=v["num"]) if "num" in v else "")


def _swept_name(key_path: str, manifest: dict, lang: str) -> str:
    """A swept parameter under its name: the label table's, else the experiment's own label (as
    the sweep's figures name it)."""
    return named_key_path(key_path, lang, manifest["design"]["parameters"].get(key_path, {}).get("label"))


def point_table_blocks(summary: pd.DataFrame, manifest: dict, table_: pd.DataFrame, lang: str) -> list[dict]:
    from sim.sweep import analysis

    params = analysis.parameters(manifest)
    kpis = analysis.kpi_names(manifest, table_)
    rows = summary.head(MAX_POINT_ROWS)
    blocks = []
    for first in range(0, len(kpis), KPIS_PER_POINT_TABLE):  # every KPI, a few to a table so it fits a page
        group = kpis[first:first + KPIS_PER_POINT_TABLE]
        body = [[*(value(r[p], lang) for p in params),
                 *(f"{number(r[k], lang)} {ci_cell(r[k + '_lo'], r[k + '_hi'], lang)}" for k in group)]
                for _, r in rows.iterrows()]
        headers = [*(_swept_name(p, manifest, lang) for p in params), *(label_with_unit(k, lang) for k in group)]
        blocks.append(table(headers, body, word("points_caption", lang, n=len(summary))))
    if len(summary) > len(rows):
        blocks.append(para(word("more_points", lang, shown=len(rows), n=len(summary))))
    return blocks


def sensitivity_blocks(results_dir: Path, table_: pd.DataFrame, manifest: dict, lang: str) -> list[dict]:
    from sim.sweep import analysis

    design = manifest["design"]
    blocks = []
    if design["type"] == "sobol":
        d = len(design["parameters"])
        per_base = 2 * d + 2 if design["settings"].get("second_order") else d + 2
        base = design["points"] // per_base
        if base < SOBOL_MIN_BASE_SAMPLES:
            blocks.append(note(word("sobol_small", lang, n=base, minimum=SOBOL_MIN_BASE_SAMPLES)))
    idx = analysis.sensitivity(results_dir, table_)
    body = [[label(r.kpi, lang), _swept_name(r.parameter, manifest, lang), r.index, f"{r.value:.3f}",
             "" if r.conf != r.conf else f"± {r.conf:.3f}"] for r in idx.itertuples()]
    blocks.append(table([word("kpi", lang), word("parameter", lang), word("index", lang), word("value", lang),
                         word("ci95", lang)], body, word("indices_caption", lang),
                        ["left", "left", "left", "right", "right"]))
    return blocks


# --- extra sections, software ----------------------------------------------------------------

# What another command's report.json holds is a few KB of words and a few small tables; these
# bound a damaged or hostile one, so the report stays a short annex made in seconds.
MAX_EXTRA_BYTES = 1_000_000
MAX_EXTRA_TABLE_ROWS = 500
MAX_EXTRA_TABLE_COLUMNS = 20
# What Typst can place, by the first bytes of the file (an SVG is text: its first tag is looked for).
IMAGE_SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
                    ".gif": (b"GIF87a", b"GIF89a")}  # fmt: skip


def read_extra_sections(results_dir: Path) -> dict | None:
    """``report.json`` written by other commands (see the package docstring), checked: every
    key it needs, every file it names inside the results folder and of its kind."""
    path = results_dir / "report.json"
    if not path.exists():
        return None
    if why := results_folder.unreadable(path):
        raise ScenarioError(path, "", f"cannot be read ({why})")
    if path.stat().st_size > MAX_EXTRA_BYTES:
        raise ScenarioError(path, "", f"larger than {MAX_EXTRA_BYTES:,} bytes: not a streetsim report.json")
    try:
        data = results_folder.read_json(path)
    except json.JSONDecodeError as e:
        raise ScenarioError(path, "", f"not valid JSON: {e.msg} (line {e.lineno})") from None
    except (ValueError, OSError) as e:  # not UTF-8; nested too deep to be a report.json; not a regular file
        raise ScenarioError(path, "", f"not a readable report.json: {getattr(e, 'strerror', None) or e}") from None
    _check_texts(path, data, "title")
    if not isinstance(data.get("sections"), list):
        raise ScenarioError(path, "sections", "must be a list of sections")
    for i, s in enumerate(data["sections"]):
        _check_texts(path, s, "heading", f"sections.{i}.")
        if "text" in s:
            _check_texts(path, s, "text", f"sections.{i}.")
        for kind, key in (("tables", "csv"), ("figures", "file")):
            if not isinstance(s.get(kind, []), list):
                raise ScenarioError(path, f"sections.{i}.{kind}", f"must be a list of {kind}")
            for j, item in enumerate(s.get(kind, [])):
                where = f"sections.{i}.{kind}.{j}."
                _check_texts(path, item, "caption", where)
                _check_files(path, results_dir, item, key, where)
    return data


def _check_files(path, results_dir: Path, item, key, where):
    """A table's or figure's file: one path for both languages, or {"zh": path, "en": path}
    when its words differ by language (a table's headers, a figure's labels)."""
    value = item.get(key)
    check = _check_table if key == "csv" else _check_image
    if isinstance(value, dict):
        if set(value) != set(LANGS):
            raise ScenarioError(path, where + key, 'must be a path or {"zh": path, "en": path}')
        for lang in LANGS:
            check(path, _inside(path, results_dir, value[lang], where + f"{key}.{lang}"), where + f"{key}.{lang}")
    else:
        check(path, _inside(path, results_dir, value, where + key), where + key)


def _inside(path, results_dir: Path, name, where) -> Path:
    """The file ``name`` (relative) names inside the results folder: the report copies what it
    names into a PDF, so a path out of the folder (absolute, ``..``, a link) is refused."""
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ScenarioError(path, where, f"must be a file's path inside {results_dir}, got {name!r}")
    file = results_dir / name
    if not file.is_file():
        raise ScenarioError(path, where, f"no such file in {results_dir}: {name!r}")
    if not file.resolve().is_relative_to(results_dir.resolve()):
        raise ScenarioError(path, where, f"{name!r} links out of {results_dir}")
    return file


def _check_table(path, file: Path, where):
    try:
        table_ = pd.read_csv(file, nrows=MAX_EXTRA_TABLE_ROWS + 1)
    except (ValueError, OSError, pd.errors.ParserError) as e:  # not CSV, empty, not UTF-8
        raise ScenarioError(path, where, f"{file.name} is not a readable table: {str(e).splitlines()[0][:120]}") from None
    if len(table_) > MAX_EXTRA_TABLE_ROWS or len(table_.columns) > MAX_EXTRA_TABLE_COLUMNS:
        raise ScenarioError(path, where, f"{file.name} is too large for a report page (at most "
                            f"{MAX_EXTRA_TABLE_ROWS} rows and {MAX_EXTRA_TABLE_COLUMNS} columns)")  # fmt: skip


def _check_image(path, file: Path, where):
    with file.open("rb") as f:
        head = f.read(512)
    suffix = file.suffix.lower()
    if suffix == ".svg":
        ok = b"<svg" in head or head.lstrip().startswith(b"<?xml")
    else:
        ok = any(head.startswith(sig) for sig in IMAGE_SIGNATURES.get(suffix, ()))
    if not ok:
        raise ScenarioError(path, where, f"{file.name} is not a PNG, JPEG, GIF or SVG image")


def _in_language(name: str | dict, lang: str) -> str:
    """The file of a checked table or figure for ``lang`` (see :func:`_check_files`)."""
    return name[lang] if isinstance(name, dict) else name


def _check_texts(path, data, key, where=""):
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, dict) or not all(isinstance(value.get(lang), str) for lang in LANGS):
        raise ScenarioError(path, where + key, 'must be {"zh": "...", "en": "..."}')


def extra_blocks(results_dir: Path, extra: dict | None, lang: str) -> list[dict]:
    if not extra:
        return []
    blocks = [heading(extra["title"][lang])]
    for s in extra["sections"]:
        blocks.append(heading(s["heading"][lang], 2))
        for paragraph in s.get("text", {}).get(lang, "").split("\n\n"):
            if paragraph.strip():
                blocks.append(para(paragraph.strip()))
        for t in s.get("tables", []):
            df = pd.read_csv(results_dir / _in_language(t["csv"], lang))
            rows = [[_cell(v, lang) for v in row] for row in df.itertuples(index=False)]
            blocks.append(table(list(df.columns), rows, t["caption"][lang]))
        for f in s.get("figures", []):
            blocks.append(figure(results_dir / _in_language(f["file"], lang), f["caption"][lang]))
    return blocks


def _cell(v, lang) -> str:
    return number(v, lang) if isinstance(v, float) else str(v)


def software_blocks(manifest: dict, lang: str) -> list[dict]:
    command = manifest.get("command")
    # quoted as a shell reads it: a file or --set value with a space must paste back as one argument
    command = shlex.join(map(str, command)) if isinstance(command, list) else str(command or "")
    if not command and manifest.get("kind") == "sweep":  # a sweep's manifest keeps its file, not argv
        command = shlex.join(["streetsim", "sweep", str(manifest.get("experiment_file", ""))])
    if not command and manifest.get("kind") == "calibration":  # nor does an older calibration's
        command = shlex.join(["streetsim", "calibrate", str(manifest.get("scenario_file", "")),
                              str(manifest.get("observed_file", ""))])
    items = [
        word("fact_version", lang, version=manifest.get("streetsim_version", "?"), python=manifest.get("python", "?")),
        word("fact_started", lang, time=manifest.get("started") or manifest.get("created", "?")),
    ]
    if manifest.get("git_commit"):
        items.append(f"git: {manifest['git_commit']}")
    return [heading(word("sec_software", lang)), bullets(items), para(word("fact_command", lang)),
            {"type": "code", "text": command or "(see manifest.json)"}]
