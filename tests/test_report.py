"""streetsim report: Chinese and English PDF annexes of a small comparison, read back with
poppler; extra sections from report.json; a sweep's annex; assumptions read from comments."""

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from test_sweep_helpers import write_experiment

from sim import figures, report
from sim import notes as scenario_notes
from sim.cli import main
from sim.labels import label, word
from sim.sweep import experiment
from sim.sweep.run import run_sweep

ROOT = Path(__file__).resolve().parents[1]
ARTEFACTS = ROOT / "tests" / "artefacts"  # rendered pages to look at (gitignored)
VARIANT = "党群1比200"
SHORT = ["--set", "horizon.days=20", "--set", "horizon.warmup_days=2", "--replications", "3", "--quiet",
         "--no-figures", "-j", "2"]


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    variant = tmp / "variant.yaml"
    variant.write_text(f"extends: {ROOT / 'scenarios' / 'reform_2015.yaml'}\nname: {VARIANT}\n"
                       "staffing:\n  party_workers: {per: 200}   # assumption: the ratio before the reform\n"
                       "  community_workers: {count: 10}\n", encoding="utf-8")
    out = tmp / "cmp"
    assert main(["compare", "scenarios/reform_2015.yaml", str(variant), "--out", str(out), *SHORT]) == 0
    return out


def _build(results, lang, **kw):
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*missing from font")  # a box instead of a glyph
        return report.build(results, lang, **kw)


def _pdf_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]  # one string per page


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in info.splitlines() if line.startswith("Pages:")))


def _squash(text: str) -> str:
    return "".join(text.split())  # line breaks and justification spaces fall where they may


WORD_BOX = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


def _words_run_together(pdf: Path) -> list[tuple[str, str]]:
    """Pairs of words set over each other on a line: a table cell wider than its column runs into
    the next. Overlaps under 2 pt are let be: poppler boxes a CJK bracket by its full width where
    Typst sets it at half."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pairs = []
    for page in xml.split("<page ")[1:]:
        words = [(*map(float, box), w) for *box, w in WORD_BOX.findall(page)]
        for i, (x0, y0, x1, y1, w) in enumerate(words):
            pairs += [(w, v) for u0, v0, u1, v1, v in words[i + 1:]
                      if min(y1, v1) - max(y0, v0) > (y1 - y0) / 2 and min(x1, u1) - max(x0, u0) > 2]
    return pairs


@pytest.fixture(scope="module")
def zh_report(compared):
    return _build(compared, "zh")


def test_chinese_annex_pages_and_text(zh_report, compared):
    assert zh_report == compared / "report_zh.pdf"
    pages = _pdf_text(zh_report)
    # method and headline, 4 figures, staffing, assumptions, every KPI, software: 6 to 14 A4 pages
    assert len(pages) == _pages(zh_report) and 6 <= len(pages) <= 14
    first, whole = _squash(pages[0]), _squash("".join(pages))
    assert _squash(word("sec_method", "zh")) in first and _squash(word("sec_headline", "zh")) in first
    assert "reform_2015" in first and VARIANT in first
    assert "staffing.party_workers.per" in first  # the levers that differ, from the resolved files
    for key in ("utilisation_party_workers", "staff_party_workers", "queue_wait_hours_party_workers",
                "wait_mean_days", "on_time_standard"):
        if key in (compared / "comparison.csv").read_text():
            assert _squash(label(key, "zh")) in whole, key
    assert "Benjamini–Hochberg" in whole and "Wilson" in whole
    assert "twoweeksforqueuestofillfromempty" in whole  # an assumption comment of reform_2015.yaml
    assert "theratiobeforethereform" in whole  # ... and of the variant file
    assert "streetsimcompare" in _squash(pages[-1])  # the command, to reproduce


def test_a_rendered_page_is_kept_to_look_at(zh_report):
    ARTEFACTS.mkdir(exist_ok=True)
    stem = ARTEFACTS / "report_zh_page1"
    subprocess.run(["pdftoppm", "-f", "1", "-l", "1", "-r", "100", "-png", "-singlefile", str(zh_report), str(stem)],
                   check=True)
    png = stem.with_suffix(".png")
    assert png.stat().st_size > 20000  # a page with text on it, not a blank one


def test_english_annex_with_extra_sections_from_report_json(compared, tmp_path):
    results = tmp_path / "cmp"
    shutil.copytree(compared, results)
    if not (results / "figures" / "backlog.png").exists():  # the compare ran without figures; run alone, draw them
        figures.draw(results, "en")
    (results / "fit.csv").write_text("parameter,fitted\nhandle_mean_hours,2.5\n", encoding="utf-8")
    (results / "report.json").write_text(json.dumps({
        "title": {"zh": "标定", "en": "Calibration"},
        "sections": [{"heading": {"zh": "拟合", "en": "Fit to the 2016 figures"},
                      "text": {"zh": "说明。", "en": "Handling times were fitted.\n\nSecond paragraph."},
                      "tables": [{"caption": {"zh": "参数", "en": "Fitted parameters"}, "csv": "fit.csv"}],
                      "figures": [{"caption": {"zh": "图", "en": "Backlog again"}, "file": "figures/backlog.png"}]}],
    }), encoding="utf-8")
    pdf = _build(results, "en", out=results / "annex.pdf")
    whole = _squash("".join(_pdf_text(pdf)))
    assert _squash(word("sec_headline", "en")) in whole and VARIANT in whole
    assert "Calibration" in whole and "Fittothe2016figures" in whole
    assert "handle_mean_hours" in whole and "Secondparagraph" in whole and "Backlogagain" in whole


def test_a_report_written_to_a_chosen_file_can_be_written_there_again(compared, tmp_path):
    """The second run finds its own mark in the PDF (near the end, in the document information)."""
    out = tmp_path / "annex.pdf"
    assert main(["report", str(compared), "--lang", "en", "--no-figures", "--out", str(out)]) == 0
    first = out.stat().st_mtime_ns
    assert main(["report", str(compared), "--lang", "en", "--no-figures", "--out", str(out)]) == 0
    assert out.stat().st_mtime_ns >= first and out.read_bytes().startswith(b"%PDF")


def test_a_folder_named_with_an_escape_takes_its_report_only_with_out(compared, tmp_path, capsys):
    """The default report file goes into the results folder: with ESC in the folder's name the
    refusal named `--out`, which the user had not given. It names the folder (escaped) now; with
    --out the report is written, and its one line names the file."""
    import shutil

    folder = tmp_path / "cmp\x1b[31m"
    shutil.copytree(compared, folder)
    before = {f: f.stat().st_mtime_ns for f in folder.rglob("*")}
    assert main(["report", str(folder), "--lang", "en", "--no-figures"]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path}/cmp\\x1b[31m: its name contains a control character "
                                       "(U+001B) and the report would be written into it; name the PDF with --out\n")
    assert {f: f.stat().st_mtime_ns for f in folder.rglob("*")} == before  # nothing written
    out = tmp_path / "annex.pdf"
    assert main(["report", str(folder), "--lang", "en", "--no-figures", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}\n" and out.read_bytes().startswith(b"%PDF")


def test_a_bad_report_json_is_one_line_and_nothing_is_written(compared, tmp_path, capsys):
    results = tmp_path / "cmp"
    shutil.copytree(compared, results)
    (results / "report.json").write_text(json.dumps({"title": {"en": "only English"}, "sections": []}))
    assert main(["report", str(results), "--lang", "en", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "report.json" in err[0] and "title" in err[0]
    assert not (results / "report_en.pdf").exists()


def _one_section(**item) -> dict:
    return {"title": {"zh": "附", "en": "Extra"},
            "sections": [{"heading": {"zh": "节", "en": "Section"}, **item}]}


# Each was a traceback (RecursionError, typst's image errors), a file from outside the folder
# typeset into the PDF, or minutes of typesetting before these checks.
BAD_EXTRA = {
    "nested too deep": ("[" * 100_000 + "]" * 100_000, "not a readable report.json: nested too deep to be a streetsim file"),
    "not UTF-8": ('{"title": {"zh": "\xe9", "en": "x"}}'.encode("latin-1"), "not a readable report.json: 'utf-8' codec can't decode byte 0xe9"),
    "tables not a list": (_one_section(tables=5), "sections.0.tables: must be a list of tables"),
    "absolute path": (_one_section(tables=[{"caption": {"zh": "表", "en": "t"}, "csv": "/etc/hostname"}]),
                      "sections.0.tables.0.csv: must be a file's path inside"),
    "path up": (_one_section(tables=[{"caption": {"zh": "表", "en": "t"}, "csv": "../cmp/summary.csv"}]),
                "sections.0.tables.0.csv: must be a file's path inside"),
    "link out": (_one_section(tables=[{"caption": {"zh": "表", "en": "t"}, "csv": "out.csv"}]), "'out.csv' links out of"),
    "not an image": (_one_section(figures=[{"caption": {"zh": "图", "en": "f"}, "file": "notes.txt"}]),
                     "notes.txt is not a PNG, JPEG, GIF or SVG image"),
    "a PNG that is not": (_one_section(figures=[{"caption": {"zh": "图", "en": "f"}, "file": "fake.png"}]),
                          "fake.png is not a PNG, JPEG, GIF or SVG image"),
    "too large": ({"title": {"zh": "附", "en": "x" * 1_000_000}, "sections": []}, "larger than 1,000,000 bytes"),
    "table too long": (_one_section(tables=[{"caption": {"zh": "表", "en": "t"}, "csv": "long.csv"}]),
                       "long.csv is too large for a report page"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_EXTRA)
def test_a_damaged_or_hostile_report_json_is_one_line_and_nothing_is_written(case, compared, tmp_path, capsys):
    results = tmp_path / "cmp"
    shutil.copytree(compared, results)
    (tmp_path / "outside.csv").write_text("a,b\n1,2\n")
    (results / "out.csv").symlink_to(tmp_path / "outside.csv")
    (results / "fake.png").write_text("not a picture")
    (results / "notes.txt").write_text("words")
    (results / "long.csv").write_text("n\n" + "1\n" * 501)
    content, message = BAD_EXTRA[case]
    if isinstance(content, dict):
        content = json.dumps(content)
    (results / "report.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["report", str(results), "--lang", "en", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "report.json" in err[0] and message in err[0], err
    assert not (results / "report_en.pdf").exists()


def test_a_report_json_linked_to_dev_zero_is_one_line_not_an_endless_read(compared, tmp_path):
    """/dev/zero passed the checks (not a named pipe; size 0) and was read until memory ran out. Run
    as a user runs it, in its own process with 2 GB of memory and a minute, so that a regression
    fails this test rather than the machine."""
    import resource
    import sys

    results = tmp_path / "cmp"
    shutil.copytree(compared, results)
    (results / "report.json").symlink_to("/dev/zero")

    def two_gigabytes():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run([sys.executable, "-m", "sim.cli", "report", str(results), "--lang", "en", "--no-figures"],
                          capture_output=True, text=True, timeout=60, preexec_fn=two_gigabytes)  # fmt: skip
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(err) == 1, done.stderr[-500:]
    assert err[0].startswith(f"error: {results / 'report.json'}: cannot be read (not a regular file"), err
    assert not (results / "report_en.pdf").exists()


def test_sweep_annex_warns_that_a_small_sobol_sample_is_rough(tmp_path):
    params = {"staffing.servers.count": {"min": 3, "max": 5, "label": "Servers (staff)"},
              "case_types.job.arrivals.per_hour": {"min": 1.5, "max": 2.5}}
    plan = experiment.load(write_experiment(tmp_path / "s.yaml", parameters=params,
                                            design={"type": "sobol", "samples": 8}, replications=2, days=15))
    out = tmp_path / "sobol"
    run_sweep(plan, out, "local", workers=2, progress=False)
    pdf = _build(out, "en")
    whole = _squash("".join(_pdf_text(pdf)))
    assert _squash(word("sec_sensitivity", "en")) in whole
    assert _squash(word("sobol_small", "en", n=8, minimum=500)) in whole
    assert "staffing.servers.count" in whole


def test_assumptions_and_sources_are_read_with_their_key_paths():
    notes = scenario_notes.notes_of(scenario_notes.read_text(ROOT / "scenarios" / "reform_2015.yaml"))
    assumptions, cited = dict(notes.assumptions), dict(notes.sources)
    assert "two weeks" in assumptions["horizon.warmup_days"]
    assert cited["street.residents"].startswith("001:")
    assert "staffing.grid_supervisors" in cited
    assert any("Sources:" in line for line in notes.header)


def _not_a_source(tmp_path, kind: str) -> Path:
    if kind == "named pipe":
        os.mkfifo(tmp_path / "s.yaml")  # nobody writes to it
        return tmp_path / "s.yaml"
    if kind == "device":
        return Path("/dev/null")
    big = tmp_path / "s.yaml"
    big.write_text("name: big  # assumption: one line of many\n" + "# 001: a source\n" * 70_000, encoding="utf-8")  # 1.1 MB
    return big


@pytest.mark.parametrize("kind", ["named pipe", "device", "file over 1 MB"])
def test_a_scenario_file_that_is_a_pipe_a_device_or_over_1_mb_is_named_as_not_read(kind, tmp_path, within_20_s):
    """The annex read every scenario file its manifest named: a named pipe waited for a writer
    forever, a device (/dev/zero) never ended, a large file was read whole."""
    from sim.report import annex

    path = _not_a_source(tmp_path, kind)
    for lang in ("en", "zh"):
        blocks = annex.assumption_blocks({"scenarios": [str(path)]}, lang)
        assert [b["text"] for b in blocks] == [word("file_not_read", lang, file=str(path))], blocks
    assert "was not read" in word("file_not_read", "en", file="x") and "未读取" in word("file_not_read", "zh", file="x")


@pytest.mark.parametrize("text", ["name: s  # assumption: a number nobody measured\nstreet: {residents: [1\n",
                                  "This scenario was replaced; see v2.  # assumption: none\n",
                                  "- name: s  # assumption: a list, not a scenario\n", "\xff\xfe not UTF-8\n"])
def test_a_scenario_file_edited_since_into_text_that_is_no_scenario_is_named_not_its_notes_left_out(text, tmp_path):
    """A folder from before manifests kept the notes has its scenario files read as they are now;
    one edited since into text that does not parse, or parses as prose or a list, was listed with
    no assumptions and no sources, which says it has none."""
    from sim.report import annex

    path = tmp_path / "s.yaml"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode("utf-8"))
    for lang in ("en", "zh"):
        blocks = annex.assumption_blocks({"scenarios": [str(path)]}, lang)
        assert [b["text"] for b in blocks] == [word("file_not_scenario", lang, file=str(path))], blocks
    assert "no longer a scenario" in word("file_not_scenario", "en", file="x")
    assert "不是可读取的情景文件" in word("file_not_scenario", "zh", file="x")


def test_a_scenario_file_of_comments_only_is_listed_with_its_header(tmp_path):
    from sim.report import annex

    path = tmp_path / "s.yaml"
    path.write_text("# comments only: still a file streetsim reads\n", encoding="utf-8")
    blocks = annex.assumption_blocks({"scenarios": [str(path)]}, "en")
    assert [b["type"] for b in blocks] == ["heading", "para"], blocks


def test_the_report_of_a_folder_whose_scenario_file_is_a_named_pipe_names_it_not_read(compared, tmp_path, within_20_s):
    """`streetsim report` waited forever on a scenario file that was a named pipe nobody writes to
    (a folder from before manifests kept the files' notes: the report reads the files)."""
    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder)
    os.mkfifo(tmp_path / "variant.yaml")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["scenario_notes"]
    manifest["scenarios"] = [manifest["scenarios"][0], str(tmp_path / "variant.yaml")]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    whole = _squash("".join(_pdf_text(_build(folder, "en"))))
    assert _squash(word("file_not_read", "en", file=str(tmp_path / "variant.yaml"))) in whole
    assert _squash("scenarios/reform_2015.yaml") in whole  # the other file's assumptions are still listed


@pytest.mark.parametrize("changed", [0, 2])
def test_the_headline_counts_only_the_kpis_that_changed(compared, changed):
    """The headline table always shows the lead KPIs: they must not be counted as changed."""
    import pandas as pd

    from sim import compare, results_folder
    from sim.report import annex

    manifest = json.loads((compared / "manifest.json").read_text(encoding="utf-8"))
    cmp = compare.comparison_table({n: pd.read_csv(d / "summary.csv")
                                    for n, d in results_folder.scenario_folders(compared, manifest).items()})
    mine = cmp["scenario"] == VARIANT
    tested = mine & cmp["status"].isin([compare.CHANGED, compare.UNCHANGED])
    cmp.loc[tested, "status"] = compare.UNCHANGED
    others = cmp[tested & ~cmp["kpi"].isin(compare.LEAD_KPIS)].index[:changed]
    cmp.loc[others, "status"] = compare.CHANGED
    intro = annex.headline_blocks(cmp, "en")[0]["text"]
    assert f": {changed} of the {int(tested.sum())} KPIs tested changed" in intro, intro


def test_quoted_words_in_a_comment_are_kept_and_a_hash_in_a_string_is_not_a_comment(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text('name: "a #1 street"\nstaffing:\n  police:   # 001: 11 lines merged into "four rooms"\n'
                    "    count: 19   # assumption: the area's residents' own 'beat'\n", encoding="utf-8")
    notes = scenario_notes.notes_of(scenario_notes.read_text(path))
    assert dict(notes.sources) == {"staffing.police": '001: 11 lines merged into "four rooms"'}
    assert dict(notes.assumptions) == {"staffing.police.count": "assumption: the area's residents' own 'beat'"}


def test_a_folder_of_another_kind_reports_its_own_sections(tmp_path):
    """A calibration folder has no runs, only report.json, and its manifest under its own name
    with the fields `streetsim calibrate` writes there (sim.calibrate.fit.claim_folder)."""
    from sim.calibrate import fit
    from sim.report import annex

    assert fit.MANIFEST in annex.MANIFEST_NAMES
    (tmp_path / fit.MANIFEST).write_text(json.dumps({
        "kind": "calibration", "scenario_file": "s.yaml", "observed_file": "o.yaml", "created": "2026-11-30T13:00:00+0000"}))
    (tmp_path / "report.json").write_text(json.dumps({
        "title": {"zh": "标定", "en": "Calibration"},
        "sections": [{"heading": {"zh": "拟合结果", "en": "Fit"}, "text": {"zh": "处置时间已拟合。", "en": "Fitted."}}],
    }, ensure_ascii=False), encoding="utf-8")
    whole = _squash("".join(_pdf_text(_build(tmp_path, "zh"))))
    assert "标定" in whole and "处置时间已拟合" in whole and "streetsimcalibrates.yamlo.yaml" in whole
    assert "2026-11-30T13:00:00" in whole


def test_a_table_may_name_one_file_per_language_and_both_are_checked(tmp_path, capsys):
    """report.json's "csv" (and a figure's "file") may be {"zh": ..., "en": ...}: each annex
    takes the table in its own language; a missing language or file is one line naming the key."""
    (tmp_path / "calibration.json").write_text(json.dumps({"kind": "calibration", "calibration": "jingan2016",
                                                           "created": "2026-11-30"}))
    (tmp_path / "t_zh.csv").write_text("参数,拟合值\n处置时间,2.5\n", encoding="utf-8")
    (tmp_path / "t_en.csv").write_text("parameter,fitted\nhandling time,2.5\n", encoding="utf-8")
    table = {"caption": {"zh": "参数", "en": "Parameters"}, "csv": {"zh": "t_zh.csv", "en": "t_en.csv"}}
    report = {"title": {"zh": "标定", "en": "Calibration"},
              "sections": [{"heading": {"zh": "拟合", "en": "Fit"}, "tables": [table]}]}
    (tmp_path / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    zh = _squash("".join(_pdf_text(_build(tmp_path, "zh"))))
    en = _squash("".join(_pdf_text(_build(tmp_path, "en"))))
    assert "拟合值" in zh and "处置时间" in zh and "fitted" not in zh
    assert _squash(word("report_title", "zh", what=word("kind_calibration", "zh"), names="jingan2016")) in zh
    assert "handlingtime" in en and "拟合值" not in en
    for bad, key in (({"zh": "t_zh.csv"}, "sections.0.tables.0.csv"), ({"zh": "t_zh.csv", "en": "gone.csv"},
                                                                        "sections.0.tables.0.csv.en")):
        table["csv"] = bad
        (tmp_path / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
        assert main(["report", str(tmp_path), "--lang", "en", "--no-figures", "--out", str(tmp_path / "new.pdf")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{key}:" in err[0], err
        assert not (tmp_path / "new.pdf").exists()


@pytest.mark.parametrize("command, key, value", [
    *((command, key, value) for command in ("report", "figures") for key, value in (
        ("scenario_names", ["reform_2015", ".."]), ("scenario_names", ["/etc", "reform_2015"]),
        ("scenario_names", "reform_2015"), ("scenario_names", ["reform_2015", "reform_2015"]), ("scenarios", 5))),
    # what the report states as facts (the figures do not use them)
    ("report", "replications", "lots"), ("report", "replications", True), ("report", "replications", 0),
    ("report", "seed", -1), ("report", "seed", "seven"),
])  # fmt: skip
def test_a_hand_edited_manifest_is_one_line_and_nothing_is_written(command, key, value, compared, tmp_path, capsys):
    """Before: names such as '..' or '/etc' were followed out of the folder, "scenarios": 5 ended
    in a line worded by Python ('int' object is not iterable), and a nonsense seed or count of
    replications was printed in the annex as a fact."""
    folder = tmp_path / "cmp"
    shutil.copytree(compared, folder)
    facts = json.loads((folder / "manifest.json").read_text())
    facts[key] = value
    (folder / "manifest.json").write_text(json.dumps(facts))
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    args = [command, str(folder), "--lang", "en"] + (["--no-figures"] if command == "report" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {folder / 'manifest.json'}: {key}: "), err
    assert ("missing or not a whole number >= " if key in ("replications", "seed") else "not a list") in err[0], err
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before


@pytest.mark.parametrize("data", [b"{", b"[1, 2]", b"\xff\xfe\x00garbage"])
def test_a_damaged_manifest_is_one_line(tmp_path, capsys, data):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(data)
    assert main(["report", str(folder), "--lang", "en", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "manifest.json" in err[0] and "not a readable manifest" in err[0], err
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json"]  # nothing written


@pytest.mark.parametrize("name", ["manifest.json", "calibration.json"])
def test_a_manifest_that_is_a_named_pipe_is_one_line_not_a_wait(tmp_path, capsys, name):
    """Nobody writes to the pipe: reading it waited forever (a calibration's folder has its own name)."""
    folder = tmp_path / "results"
    folder.mkdir()
    os.mkfifo(folder / name)
    assert main(["report", str(folder), "--lang", "en", "--no-figures"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {folder / name}: not a readable manifest: not a regular file"), err
    assert sorted(p.name for p in folder.iterdir()) == [name]  # nothing written


def test_many_streets_list_their_differing_levers_one_per_row_not_side_by_side():
    """A district's ten streets side by side ran off the page: past four, one row per street."""
    from sim.report import annex

    resolved = {f"street_{k}": {"horizon": {"days": 20, "warmup_days": 2}, "street": {"residents": 1000 * (k + 1)}}
                for k in range(10)}
    manifest = {"kind": "district", "replications": 2, "seed": 1}
    (levers,) = [b for b in annex.method_blocks(manifest, resolved, "en") if b["type"] == "table"]
    assert len(levers["headers"]) == 3
    assert levers["rows"][0] == ["street.residents", "street_0", "1000"] and levers["rows"][9][1:] == ["street_9", "10000"]
    few = dict(list(resolved.items())[:3])
    (side_by_side,) = [b for b in annex.method_blocks(manifest, few, "en") if b["type"] == "table"]
    assert side_by_side["headers"][1:] == list(few) and len(side_by_side["rows"]) == 1


def test_sweep_annex_lists_every_kpi_and_names_its_figures(tmp_path):
    """The point tables held the first four KPIs only, and figures were captioned by file name."""
    from sim import figures
    from sim.labels import label_with_unit
    from sim.report import annex

    kpis = ["on_time_resident", "wait_mean_days", "utilisation_servers", "cases_arrived", "wait_p90_days",
            "queue_wait_hours_servers", "closure_rate"]
    plan = experiment.load(write_experiment(tmp_path / "grid.yaml", replications=2, days=15, kpis=kpis))
    out = tmp_path / "grid"
    run_sweep(plan, out, "local", workers=2, progress=False)
    figures.draw(out)
    blocks = annex.sweep_blocks(out, json.loads((out / "manifest.json").read_text(encoding="utf-8")), "en")
    headers = [h for b in blocks if b["type"] == "table" for h in b["headers"]]
    assert all(label_with_unit(k, "en") in headers for k in kpis), headers
    captions = [b["caption"] for b in blocks if b["type"] == "figure"]
    assert captions and all(c.startswith(("Response of the KPIs", "KPI means over two parameters")) for c in captions), captions


def test_the_swept_parameters_are_named_with_their_key_paths(tmp_path):
    """The sweep annex's table of parameters listed raw key paths only, in Chinese too."""
    from sim.report import annex

    params = {"staffing.servers.count": {"values": [3, 4]}, "levers.sections.count": {"values": [8]},
              "loop.close.fail_probability": {"values": [0.0]}}
    plan = experiment.load(write_experiment(tmp_path / "named.yaml", parameters=params, replications=2, days=10))
    out = tmp_path / "named"
    run_sweep(plan, out, "local", workers=2, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for lang, posts, lever in (("zh", "人数", "街道内设机构"), ("en", "posts", "the street's internal sections")):
        (swept,) = [b for b in annex.sweep_blocks(out, manifest, lang) if b.get("caption") == word("parameters_caption", lang)]
        cells = {row[0].split("\n")[-1]: row[0].split("\n") for row in swept["rows"]}
        assert list(cells) == list(params)  # each key path, under its name
        assert posts in cells["staffing.servers.count"][0] and len(cells["staffing.servers.count"]) == 2
        assert cells["levers.sections.count"][0] == lever
        assert cells["loop.close.fail_probability"] == ["loop.close.fail_probability"]  # no name: the key path alone


def test_the_sweep_annex_captions_its_figures_in_its_language(tmp_path):
    """Captions took their words from file names: the Chinese annex read 'staffing servers count'."""
    from sim.report import annex

    plan = experiment.load(write_experiment(tmp_path / "grid.yaml", replications=2, days=10))
    out = tmp_path / "grid"
    run_sweep(plan, out, "local", workers=2, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    expected = {
        "zh": {"两个参数下的指标均值热力图：job发生率与servers人数",
               "各指标随参数变化的响应曲线（均值与95%置信区间）：job发生率，按servers人数分组"},
        "en": {"KPI means over two parameters: arrival rate, job against posts, servers",
               "Response of the KPIs to a parameter (mean and 95% CI): arrival rate, job, by posts, servers"},
    }
    for lang, captions in expected.items():
        figures.draw(out, lang)
        assert {b["caption"] for b in annex.sweep_blocks(out, manifest, lang) if b["type"] == "figure"} == captions


def test_the_sweep_annex_names_parameters_in_its_point_and_sensitivity_tables(tmp_path):
    """The per-point tables' headers and the sensitivity table's parameter column were raw key
    paths, in Chinese too, while the table of parameters swept named them."""
    from sim.report import annex

    params = {"staffing.servers.count": {"min": 3, "max": 5}, "loop.close.fail_probability": {"min": 0.0, "max": 0.1}}
    plan = experiment.load(write_experiment(tmp_path / "sobol.yaml", parameters=params, replications=2, days=10,
                                            design={"type": "sobol", "samples": 8}))
    out = tmp_path / "sobol"
    run_sweep(plan, out, "local", workers=2, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for lang, servers in (("zh", "servers人数（人）"), ("en", "posts, servers (people)")):
        named = {f"{servers}\nstaffing.servers.count", "loop.close.fail_probability"}  # no name: the key path alone
        tables = [b for b in annex.sweep_blocks(out, manifest, lang) if b["type"] == "table"]
        points = [t for t in tables if t["caption"] == word("points_caption", lang, n=len(plan.points))]
        assert points and all(set(t["headers"][:2]) == named for t in points), lang
        (indices,) = [t for t in tables if t["caption"] == word("indices_caption", lang)]
        assert {row[1] for row in indices["rows"]} == named, lang


def test_the_sweep_annex_rounds_the_design_points_values_as_every_table_does(tmp_path):
    """A design point's values were printed as pandas held them: '3.0' posts, '2.2402846803886' cases an hour."""
    from sim.report import annex

    params = {"staffing.servers.count": {"values": [3, 4]}, "case_types.job.arrivals.per_hour": {"values": [1.5, 2.2402846803886]}}
    plan = experiment.load(write_experiment(tmp_path / "values.yaml", parameters=params, replications=2, days=10))
    out = tmp_path / "values"
    run_sweep(plan, out, "local", workers=2, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    (points,) = [b for b in annex.sweep_blocks(out, manifest, "zh") if b.get("caption") == word("points_caption", "zh", n=4)]
    assert sorted(tuple(row[:2]) for row in points["rows"]) == [("3", "1.5"), ("3", "2.24"), ("4", "1.5"), ("4", "2.24")]


def test_the_chinese_sweep_annex_gives_the_ranges_step_and_design_type_in_chinese(tmp_path):
    """The table of parameters swept read '3.0 … 5.0, step 1.0' and the design line '设计：factorial'
    in the Chinese annex."""
    from sim.report import annex

    params = {"staffing.servers.count": {"min": 3, "max": 5, "step": 1},
              "case_types.job.arrivals.per_hour": {"values": [1.5, 2.2402846803886]}}
    plan = experiment.load(write_experiment(tmp_path / "steps.yaml", parameters=params, replications=2, days=10))
    out = tmp_path / "steps"
    run_sweep(plan, out, "local", workers=2, progress=False)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for lang, step, design in (("zh", "3 … 5，步长1", "设计：全因子，6个设计点，共12次运行"),
                               ("en", "3 … 5, step 1", "design: factorial, 6 points, 12 runs")):
        blocks = annex.sweep_blocks(out, manifest, lang)
        (swept,) = [b for b in blocks if b.get("caption") == word("parameters_caption", lang)]
        values = {row[0].split("\n")[-1]: row[2] for row in swept["rows"]}
        listed = "1.5、2.24" if lang == "zh" else "1.5, 2.24"
        assert values == {"staffing.servers.count": step, "case_types.job.arrivals.per_hour": listed}, lang
        facts = [item for b in blocks if b["type"] == "list" for item in b["items"]]
        assert design in facts, (lang, facts)


def test_every_design_type_has_a_name_in_both_languages():
    import typing

    from sim.labels import WORDS

    types = typing.get_args(experiment.Design.model_fields["type"].annotation)
    assert set(types) == {"factorial", "lhs", "sobol", "morris"}
    for t in types:
        zh, en = WORDS[f"design_{t}"]
        assert zh and en and zh != t
    assert WORDS["design_factorial"][0] == "全因子" and WORDS["design_lhs"][0] == "拉丁超立方"


@pytest.mark.parametrize("manifest, expected", [
    ({"command": ["streetsim", "run", "my scenarios/改革 2015.yaml", "--set", "street.name=a b"]},
     ["streetsim", "run", "my scenarios/改革 2015.yaml", "--set", "street.name=a b"]),
    ({"kind": "sweep", "experiment_file": "my experiments/ratio.yaml"},
     ["streetsim", "sweep", "my experiments/ratio.yaml"]),
    ({"kind": "calibration", "scenario_file": "a b.yaml", "observed_file": "obs.yaml"},
     ["streetsim", "calibrate", "a b.yaml", "obs.yaml"]),
])
def test_the_command_to_reproduce_pastes_back_as_the_same_arguments(manifest, expected):
    """A path or value with a space is quoted, so the printed command reruns what ran (it was joined with spaces)."""
    import shlex

    from sim.report import annex

    code = [b for b in annex.software_blocks(manifest, "en") if b.get("type") == "code"]
    assert len(code) == 1 and shlex.split(code[0]["text"]) == expected


@pytest.mark.parametrize("lang, lever_name, posts_name", [("zh", "联勤联动", "人数"), ("en", "joint enforcement", "posts")])
def test_the_levers_that_differ_are_named_with_their_key_paths(lang, lever_name, posts_name):
    """The table of what differs between scenarios listed raw YAML key paths only (in Chinese too)."""
    from sim.report import annex

    base = {"horizon": {"days": 20, "warmup_days": 2}, "levers": {"joint_enforcement": {"enabled": False}},
            "staffing": {"grid_supervisors": {"count": 8}}, "behaviour": {"gaming": {"probability": 0.1}}}
    reform = {**base, "levers": {"joint_enforcement": {"enabled": True}}, "staffing": {"grid_supervisors": {"count": 12}},
              "behaviour": {"gaming": {"probability": 0.2}}}
    manifest = {"kind": "compare", "replications": 2, "seed": 1}
    (levers,) = [b for b in annex.method_blocks(manifest, {"a": base, "b": reform}, lang) if b["type"] == "table"]
    first = {row[0].split("\n")[-1]: row[0] for row in levers["rows"]}
    assert first["levers.joint_enforcement.enabled"].split("\n")[0] == lever_name
    posts = first["staffing.grid_supervisors.count"].split("\n")[0]
    assert posts_name in posts and label("grid_supervisors", lang) in posts
    assert first["behaviour.gaming.probability"] == "behaviour.gaming.probability"  # no name: the key path alone


def test_every_lever_of_the_schema_has_a_name_in_both_languages():
    from sim.labels import LEVERS
    from sim.scenario import Levers

    assert set(Levers.model_fields) == set(LEVERS)
    assert all(zh and en and zh != en for zh, en in LEVERS.values())


def test_a_swept_range_says_its_levels_or_its_distribution_in_the_annexs_language():
    """A range of num levels printed as its two ends alone ('1.5 … 2.5'), and a distribution given
    by mean and sd as 'None … None'."""
    from sim.report.annex import _range_text

    specs = [({"min": 1.5, "max": 2.5, "num": 3}, "1.5 … 2.5，3个水平", "1.5 … 2.5, 3 levels"),
             ({"min": 100, "max": 250, "step": 25}, "100 … 250，步长25", "100 … 250, step 25"),
             ({"min": 1.0, "max": 3.0, "dist": "uniform"}, "1 … 3", "1 … 3"),
             ({"min": 1, "max": 100, "dist": "log_uniform"}, "1 … 100，对数均匀", "1 … 100, log-uniform"),
             ({"min": 1, "max": 5, "mode": 2, "dist": "triangular"}, "1 … 5，三角分布，众数2", "1 … 5, triangular, mode 2"),
             ({"mean": 2, "sd": 0.5, "dist": "normal"}, "正态，均值2，标准差0.5", "normal, mean 2, sd 0.5"),
             ({"mean": 4, "sd": 1, "dist": "lognormal"}, "对数正态，均值4，标准差1", "lognormal, mean 4, sd 1"),
             ({"mean": 2, "sd": 1, "min": 0, "max": 5, "dist": "truncated_normal"},
              "截断正态，均值2，标准差1，0 … 5", "truncated normal, mean 2, sd 1, 0 … 5"),
             ({"values": [1.5, 2.2402846]}, "1.5、2.24", "1.5, 2.24"),  # a Chinese list has the enumeration comma
             ({"values": [True, False]}, "是、否", "yes, no")]
    for spec, zh, en in specs:
        assert (_range_text(spec, "zh"), _range_text(spec, "en")) == (zh, en)


def test_a_key_path_in_a_table_header_breaks_at_its_dots_and_copies_as_itself(tmp_path):
    """A table header broke a key path after its dots with zero-width spaces, and hyphenated
    'gate-keeping': both came out of the PDF with the text, so a key path copied from the annex
    failed as a --set. It still breaks at its dots in a narrow column, and runs into no other."""
    key = "levers.devolved_tasks.gatekeeping"
    params = {key: {"values": [True, False]}, "staffing.servers.count": {"values": [3, 4]}}
    plan = experiment.load(write_experiment(tmp_path / "gate.yaml", parameters=params, replications=2, days=10))
    out = tmp_path / "gate"
    run_sweep(plan, out, "local", workers=2, progress=False)
    for lang in ("zh", "en"):
        pdf = _build(out, lang)
        # in the order it was set: a header cell's lines one after another
        text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "\u200b" not in text, lang
        assert any(line.startswith("levers.") and line != key for line in text.splitlines()), lang  # broken in the header
        assert _squash(text).count(key) == 2, lang  # whole, in the parameters swept and in the point table's header
        assert not _words_run_together(pdf), lang


def test_the_annex_lists_the_assumptions_as_run_even_if_the_file_was_edited_or_moved_since(tmp_path, monkeypatch):
    """The annex read the scenario files when the report was built: a file edited after the run
    gave the annex its new assumptions beside the old results, and a report built from another
    folder (or after the file moved) found no file and listed none. The run's manifest now keeps
    the notes as the run read them."""
    from sim.report import annex

    monkeypatch.chdir(tmp_path)
    mmc = ROOT / "scenarios" / "validation" / "mmc.yaml"
    Path("s.yaml").write_text(f"extends: {mmc}\nname: s\nstaffing:\n  servers: {{count: 5}}   "
                              "# assumption: five servers, as run\n", encoding="utf-8")
    assert main(["run", "s.yaml", "--out", "r", "--set", "horizon.days=3", "--set", "horizon.warmup_days=1",
                 "--replications", "1", "--quiet", "--no-figures"]) == 0
    Path("s.yaml").write_text(f"extends: {mmc}\nname: s\nstaffing:\n  servers: {{count: 5}}   "
                              "# assumption: EDITED LATER\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text(encoding="utf-8"))
    texts = json.dumps(annex.assumption_blocks(manifest, "en"), ensure_ascii=False)
    assert "five servers, as run" in texts and "EDITED LATER" not in texts
    assert "s.yaml" in texts and str(mmc) in texts  # and the file it extends
    assert word("file_missing", "en", file="s.yaml") not in texts
