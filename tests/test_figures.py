"""Figures for print: A4 sizes, >= 8 pt text, PNG 300 dpi + SVG with real text + PDF, labels in
Chinese and English with no missing glyphs, a CJK font found (or a clear English fallback)."""

import logging
import os
import re
import subprocess
import warnings
from pathlib import Path

import pytest
from matplotlib import font_manager
from PIL import Image

from sim import figures
from sim.cli import main
from sim.labels import label, word

SHORT = ["--set", "horizon.days=20", "--set", "horizon.warmup_days=2", "--replications", "3", "--quiet",
         "--no-figures", "-j", "2"]
PT_PER_IN = 72


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """A small comparison: the reform and a Chinese-named variant with fewer party-mass workers."""
    tmp = tmp_path_factory.mktemp("fig")
    variant = tmp / "variant.yaml"
    variant.write_text("extends: " + str(Path("scenarios/reform_2015.yaml").resolve())
                       + "\nname: 党群1比200\nstaffing: {party_workers: {per: 200}}\n", encoding="utf-8")
    out = tmp / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", str(variant), "--out", str(out), *SHORT]) == 0
    assert not (out / "figures").exists()  # --no-figures
    return out


@pytest.fixture(scope="module", params=["zh", "en"])
def drawn(request, compared):
    """Draw with missing-glyph warnings (and 'font not found' log lines) turned into failures."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("matplotlib.font_manager")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*missing from font")
            files = figures.draw(compared, request.param)
    finally:
        logger.removeHandler(handler)
    assert not [r.getMessage() for r in records if "not found" in r.getMessage()]
    return request.param, files


def test_every_figure_in_png_svg_and_pdf(drawn):
    lang, files = drawn
    stems = {f.stem for f in files}
    assert stems == {"differences", "kpi_bars", "backlog", "staff_time"}
    assert {f.suffix for f in files} == {".png", ".svg", ".pdf"}
    assert all(f.stat().st_size > 5000 for f in files)


@pytest.mark.parametrize("stem, width_in", [("differences", figures.FULL_WIDTH_IN), ("kpi_bars", figures.FULL_WIDTH_IN),
                                            ("staff_time", figures.FULL_WIDTH_IN), ("backlog", figures.HALF_WIDTH_IN)])
def test_printed_size_resolution_and_smallest_text(drawn, stem, width_in):
    lang, files = drawn
    folder = files[0].parent
    png = Image.open(folder / f"{stem}.png")
    assert png.size[0] == pytest.approx(width_in * 300, abs=2)
    assert png.info["dpi"][0] == pytest.approx(300, abs=0.5)
    svg = (folder / f"{stem}.svg").read_text(encoding="utf-8")
    width_pt = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', svg).group(1))
    assert width_pt == pytest.approx(width_in * PT_PER_IN, abs=0.5)  # the page size is the print size
    sizes = [float(s) for s in re.findall(r"font[^;\"]*?([\d.]+)px", svg)]  # SVG px at 72/in = pt
    assert sizes and min(sizes) >= figures.FONT_PT


def test_svg_keeps_text_as_text_in_the_chosen_language(drawn):
    lang, files = drawn
    folder = files[0].parent
    svg = (folder / "differences.svg").read_text(encoding="utf-8")
    assert "<text" in svg
    assert word("forest_axis", lang) in svg
    assert "党群1比200" in svg  # a Chinese scenario name, in either language
    staff = (folder / "staff_time.svg").read_text(encoding="utf-8")
    assert label("grid_supervisors", lang) in staff and "grid_supervisors" not in staff


def test_pdf_embeds_its_fonts_and_its_text_can_be_read(drawn):
    lang, files = drawn
    pdf = files[0].parent / "differences.pdf"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in r for r in rows)  # every font embedded
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    # (text runs split where the font changes, so the parts are checked one by one)
    assert "党群1比200" in text and word("forest_axis", lang) in text and word("ci_excludes_0", lang) in text


def test_the_forest_plot_marks_where_the_ci_excludes_zero(drawn):
    lang, files = drawn
    svg = (files[0].parent / "differences.svg").read_text(encoding="utf-8")
    assert word("ci_excludes_0", lang) in svg  # 8 -> 6 party-mass workers: their utilisation rises
    assert label("utilisation_party_workers", lang) in svg



def test_the_forest_plots_legend_is_set_with_the_colon_of_its_language(drawn):
    """The legend read '党群1比200: 置信区间不含0' in a Chinese figure: an ASCII colon in Chinese text.
    Now '党群1比200：置信区间不含0' (sim.labels' word 'named'); English keeps 'name: CI excludes 0'."""
    from test_sweep_helpers import ASCII_PUNCTUATION_BY_CJK

    lang, files = drawn
    svg = (files[0].parent / "differences.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)  # SVG text kept as text: one element a line
    legend = {"zh": "党群1比200：置信区间不含0", "en": "党群1比200: CI excludes 0"}[lang]
    assert legend in texts, texts
    assert [t for t in texts if ASCII_PUNCTUATION_BY_CJK.search(t)] == []

def test_no_cjk_font_falls_back_to_english_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(figures, "cjk_family", lambda: None)
    assert figures.use_language("zh") == "en"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fonts-noto-cjk" in err[0]


def test_a_stale_font_cache_is_rebuilt(monkeypatch):
    manager = font_manager.fontManager
    without_cjk = [f for f in manager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(manager, "ttflist", without_cjk)  # as if cached before fonts-noto-cjk
    assert figures._find_cjk() is None
    assert figures.cjk_family() == "Noto Sans CJK SC"
    assert font_manager.findfont("Noto Sans CJK SC").endswith(".ttc")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_text_runs_off_the_figure(compared, lang, monkeypatch, tmp_path):
    """A title or label wider than the page is cut off in print: every text must lie inside the figure."""
    overflow = []
    save = figures.save

    def checked(fig, out, stem):
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        page = fig.bbox
        # what is drawn: each panel with its title, labels, tick labels and legend; the figure's title
        parts = [(ax.get_title() or "panel", ax.get_tightbbox(renderer)) for ax in fig.axes]
        parts += [(t.get_text(), t.get_window_extent(renderer)) for t in fig.texts + [fig._suptitle] if t is not None]
        for name, box in parts:
            if box.x0 < page.x0 - 1 or box.x1 > page.x1 + 1 or box.y0 < page.y0 - 1 or box.y1 > page.y1 + 1:
                overflow.append(f"{stem}: {name!r} ({box.x0:.0f}..{box.x1:.0f} of {page.x1:.0f} px wide)")
        return save(fig, out, stem)

    monkeypatch.setattr(figures, "save", checked)
    figures.draw(compared, lang)
    assert not overflow, overflow


@pytest.mark.parametrize("command, missing", [
    ("figures", "timeseries.parquet"), ("figures", "roles.csv"), ("report", "timeseries.parquet"),
    ("report", "scenario.resolved.yaml"),  # the figures do not need it; the report's method section does
])  # fmt: skip
def test_a_folder_missing_a_scenario_table_is_one_line_and_nothing_is_drawn(command, missing, compared, tmp_path, capsys):
    """Before: the KPI bars were drawn into figures/, then a FileNotFoundError was reported."""
    import shutil

    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder, ignore=shutil.ignore_patterns("figures", "report_*.pdf"))
    scenario = sorted(p for p in folder.iterdir() if p.is_dir())[-1]
    (scenario / missing).unlink()
    assert main([command, str(folder), "--lang", "en"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {scenario / missing}: missing: a compare folder holds it"), err
    assert not (folder / "figures").exists() and not list(folder.glob("*.pdf"))


def test_the_differences_figure_keeps_to_one_page_with_many_scenarios(tmp_path):
    """Twelve scenarios, thirty KPIs that all change: the figure was ~16 inches tall (a page's
    text is 9.7); now fewer KPIs are drawn, the strongest evidence first, and it fits."""
    import numpy as np
    import pandas as pd

    from sim import compare, scenario
    from sim.columns import kpi_names

    rng = np.random.default_rng(1)
    kpis = [k for k in kpi_names(scenario.load("scenarios/reform_2015.yaml")) if not k.startswith("staff")][:30]
    summaries = {f"s{i}": pd.DataFrame({k: rng.normal(10 + i + j % 5, 1, 10) for j, k in enumerate(kpis)})
                 for i in range(12)}  # fmt: skip
    table = compare.comparison_table(summaries)
    files = figures.forest(table, tmp_path, "en")
    svg = next(f for f in files if f.suffix == ".svg").read_text(encoding="utf-8")
    height_pt = float(re.search(r'<svg[^>]*height="([\d.]+)pt"', svg).group(1))
    assert len(kpis) >= 20 and height_pt <= 247 / 25.4 * PT_PER_IN + 0.5  # A4 less 25 mm margins


@pytest.mark.parametrize("kind, manifest", [("staffing", "manifest.json"), ("calibration", "calibration.json")])
def test_a_staffing_or_calibration_folder_says_where_its_figures_are(kind, manifest, tmp_path, capsys):
    """`staff` and `calibrate` draw their own figures (from the search, the posterior), in both
    languages; `figures` said "unknown kind 'staffing'" (and "no manifest.json" for a calibration)."""
    folder = tmp_path / "plan"
    (folder / "figures").mkdir(parents=True)
    (folder / manifest).write_text(f'{{"kind": "{kind}"}}', encoding="utf-8")
    (folder / "figures" / "staffing_search_en.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    before = sorted(folder.rglob("*"))
    assert main(["figures", str(folder), "--lang", "zh"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(folder / "figures") in err[0] and f"streetsim report {folder}" in err[0], err
    assert sorted(folder.rglob("*")) == before


def _roles_csv(folder: Path, roles: list[str], reps: int = 2) -> Path:
    """A roles.csv as sim.runner writes it, as far as the staff-time figure reads it: hours by activity."""
    import pandas as pd

    folder.mkdir(parents=True)
    rows = [{"replication": r, "role": role, "available": 1800.0, "overtime": 100.0, "casework": 900.0,
             "travel": 200.0, "devolved_tasks": 300.0, "data_collection": 100.0, "investment_promotion": 50.0,
             "idle": 350.0} for r in range(reps) for role in roles]  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "roles.csv", index=False)
    return folder


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_staff_time_figure_keeps_to_one_page_with_many_scenarios_and_roles(lang, tmp_path, monkeypatch):
    """Twelve scenarios of every role: the figure was 18 inches tall (a page's text is 9.7); now
    it draws as many scenarios as fit, the first ones, and its title says of how many."""
    from sim.labels import ROLES

    drawn = {}
    save = figures.save

    def kept(fig, out, stem):
        drawn.update(panels=[ax.get_title() for ax in fig.axes if ax.get_title()], title=fig._suptitle.get_text())
        return save(fig, out, stem)

    monkeypatch.setattr(figures, "save", kept)
    runs = {f"s{i}": _roles_csv(tmp_path / f"s{i}", list(ROLES)) for i in range(12)}
    files = figures.staff_time(runs, tmp_path, figures.use_language(lang))
    svg = next(f for f in files if f.suffix == ".svg").read_text(encoding="utf-8")
    height_pt = float(re.search(r'<svg[^>]*height="([\d.]+)pt"', svg).group(1))
    assert len(ROLES) >= 13 and height_pt <= 247 / 25.4 * PT_PER_IN + 0.5  # A4 less 25 mm margins
    assert drawn["panels"][0] == "s0" and "s11" not in drawn["panels"]  # the baseline first; the last left out
    shown = word("staff_time_shown", lang, shown=len(drawn["panels"]), n=12)
    assert "".join(shown.split()) in "".join(drawn["title"].split())


def test_figures_of_a_sweep_folder_are_drawn_in_the_language_asked(tmp_path):
    """`streetsim figures --lang zh` drew a sweep's figures in English: the language was not passed on."""
    from test_sweep_helpers import write_experiment

    from sim.sweep import experiment
    from sim.sweep.run import run_sweep

    plan = experiment.load(write_experiment(tmp_path / "one.yaml", replications=2, days=10,
                                            parameters={"staffing.servers.count": {"values": [3, 4]}}))
    out = tmp_path / "one"
    run_sweep(plan, out, "local", workers=1, progress=False)
    svg = out / "figures" / "response_staffing_servers_count.svg"
    for lang, texts in (("zh", ["每个设计点2次重复", "平均解决时间（天）"]), ("en", ["2 replications per point", "mean time to fix (days)"])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main(["figures", str(out), "--lang", lang]) == 0
        assert not [str(w.message) for w in caught if "missing from font" in str(w.message)]  # no box for a glyph
        text = svg.read_text(encoding="utf-8")
        assert [t for t in texts if t not in text] == [], lang
        assert ("replications" in text) == (lang == "en")  # one language per drawing


def test_redrawing_removes_the_temporary_files_of_a_drawing_killed_mid_file(compared, tmp_path):
    """Figures are written whole (write_atomic); a `streetsim figures` killed mid-file left its
    '.kpi_bars.png.<host>-<pid>-<tag>.tmp' behind for good. Drawing again removes this host's
    files whose writer is gone, and keeps a live writer's and another host's."""
    import shutil
    import socket

    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder)
    (folder / "figures").mkdir(exist_ok=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    names = {"dead": f".kpi_bars.png.{host}-{dead.pid}-0123abcd.tmp",
             "live": f".kpi_bars.svg.{host}-{os.getpid()}-0123abcd.tmp",
             "other host": f".kpi_bars.pdf.not-{host}-{dead.pid}-0123abcd.tmp"}
    for name in names.values():
        (folder / "figures" / name).write_bytes(b"half a figure")
    figures.draw(folder, "en")
    left = {p.name for p in (folder / "figures").glob(".*.tmp")}
    assert left == {names["live"], names["other host"]}


def test_figures_are_written_through_results_folder_write_atomic(tmp_path, monkeypatch):
    """One name for one thing: save() calls results_folder.write_atomic itself (not a copy of the
    name bound at import), so a change to the writer — or a test's stand-in — reaches figures."""
    import matplotlib.pyplot as plt

    from sim import results_folder

    written = []
    real = results_folder.write_atomic
    monkeypatch.setattr(results_folder, "write_atomic", lambda path, write: (written.append(path), real(path, write)))
    fig = plt.figure(figsize=(2, 1))
    paths = figures.save(fig, tmp_path, "one")
    assert written == paths and all(p.is_file() for p in paths)
    assert not hasattr(figures, "write_atomic")


def test_figures_lists_what_it_wrote_without_control_characters(compared, tmp_path, capsys):
    """`figures` prints each file it wrote, under the folder named on the command line: a folder
    whose name holds ESC sent it to the terminal raw."""
    import shutil

    folder = tmp_path / "cmp\x1b[31m"
    shutil.copytree(compared, folder)
    assert main(["figures", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(line.startswith(f"{tmp_path}/cmp\\x1b[31m/figures/") for line in lines)


@pytest.mark.parametrize("earlier", [False, True])
def test_a_drawing_that_fails_midway_leaves_no_half_drawn_set(earlier, compared, tmp_path, monkeypatch, capsys):
    """`figures` drew into figures/ one figure at a time: a failure at the staff-time figure left
    the new differences, KPI bars and backlog beside the earlier staff-time figure (or alone). Now
    all are drawn into a temporary folder and moved into figures/ only when all are drawn."""
    import shutil

    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder, ignore=shutil.ignore_patterns("figures", "report_*.pdf"))
    if earlier:
        figures.draw(folder, "en")
    before = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    drawn = []
    save = figures.save

    def counted(fig, out, stem):
        drawn.append(stem)
        return save(fig, out, stem)

    def broken(*_args, **_kwargs):
        raise ValueError("disk quota exceeded while drawing")

    monkeypatch.setattr(figures, "save", counted)
    monkeypatch.setattr(figures, "staff_time", broken)
    assert main(["figures", str(folder), "--lang", "zh"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disk quota exceeded" in err[0], err
    assert drawn == ["differences", "kpi_bars", "backlog"]  # three were drawn before the failure...
    after = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # ...and none of them reached figures/
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # nor is their temporary folder left


def test_redrawing_removes_a_dead_drawings_temporary_folder_and_only_that(compared, tmp_path):
    """A drawing killed before its figures were moved into place leaves its temporary folder
    (.figures.tmp-<host>-<pid>-<hex8>) beside figures/. Drawing again removes it when its writer is
    gone; a live writer's, another host's, one not named so, a link, and the earlier scheme's
    (no host: not proven this host's) are kept."""
    import shutil
    import socket

    from sim import results_folder

    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder, ignore=shutil.ignore_patterns("figures", "report_*.pdf"))
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("not streetsim's")
    names = {"dead": f".figures.tmp-{host}-{dead.pid}-0123abcd", "live": f".figures.tmp-{host}-{os.getpid()}-0123abcd",
             "other host": f".figures.tmp-not-{host}-{dead.pid}-0123abcd",
             "not a tag": f".figures.tmp-{host}-{dead.pid}-notmine1", "no host": f".figures.tmp-{dead.pid}-0123abcd",
             "no pid": f".figures.tmp-{host}-{'9' * 20}-0123abcd"}  # before: OverflowError in os.kill
    for name in names.values():
        (folder / name).mkdir()
        (folder / name / "kpi_bars.png").write_bytes(b"half a figure")
    link = folder / f".figures.tmp-{host}-{dead.pid}-4567abcd"
    link.symlink_to(elsewhere)
    figures.draw(folder, "en")
    left = {p.name for p in folder.iterdir() if p.name.startswith(".")}
    assert left == {n for k, n in names.items() if k != "dead"} | {link.name}
    assert (elsewhere / "precious.txt").read_text() == "not streetsim's"
    assert {p.stem for p in (folder / "figures").iterdir()} == set(results_folder.KIND_FIGURES["compare"])
    # the name the drawing's own temporary folder gets, which the test names stand for
    assert results_folder.temporary_name(folder / "figures").name.startswith(f".figures.tmp-{host}-{os.getpid()}-")


@pytest.mark.parametrize("what", ["file", "dangling link"])
def test_a_figures_that_is_no_folder_is_one_line_before_anything_is_drawn(what, compared, tmp_path, capsys, monkeypatch):
    """Before: every figure was drawn, then Python's FileExistsError was the line."""
    import shutil

    def drawn_anyway(*_):
        raise AssertionError("drawn although figures/ cannot take them")

    monkeypatch.setattr(figures, "_draw_run", drawn_anyway)
    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder, ignore=shutil.ignore_patterns("figures", "report_*.pdf"))
    if what == "file":
        (folder / "figures").write_text("mine")
    else:
        (folder / "figures").symlink_to(tmp_path / "nowhere")
    assert main(["figures", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {folder / 'figures'}: is not a folder (a file or a link); move it away to write here"], err
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []  # no temporary folder left


def test_the_figure_formats_and_names_are_results_folders(drawn):
    """One place: what --force recognises as streetsim's figures is what is drawn."""
    from sim import results_folder

    _lang, files = drawn
    assert figures.FORMATS is results_folder.FIGURE_FORMATS
    assert {f.name for f in files} == {f"{s}.{e}" for s in results_folder.KIND_FIGURES["compare"] for e in results_folder.FIGURE_FORMATS}
