"""--out: nothing is deleted that streetsim did not write; an earlier result is replaced only with
--force and only once the new one is complete; odd places get one line; folders follow the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sim import figures, results_folder
from sim.cli import main
from sim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
MMC = str(ROOT / "scenarios" / "validation" / "mmc.yaml")
SHORT = ["--replications", "1", "--workers", "1", "--quiet", "--set", "horizon.days=15", "--set", "horizon.warmup_days=0"]


def run(out, *extra):
    return main(["run", MMC, *SHORT, "--out", str(out), *extra])


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: --out: "), err
    for w in words:
        assert w in err, err
    return err


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """One real result, copied by the tests that need an earlier result."""
    out = tmp_path_factory.mktemp("earlier") / "res"
    assert run(out) == 0
    return out


def copy_of(result: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(result, to)
    return to


def test_a_folder_that_is_not_a_result_is_refused_and_kept(work, capsys):
    notes = work / "notes"
    notes.mkdir()
    (notes / "minutes.txt").write_text("meeting 3 March")
    (notes / "sub").mkdir()
    (notes / "sub" / "budget.csv").write_text("a,b\n1,2\n")
    before = tree(notes)
    assert run(notes) == 2
    refused(capsys, "is not a streetsim run result", "nothing was changed")
    assert tree(notes) == before
    assert sorted(p.name for p in work.iterdir()) == ["notes"]  # no temporary folder left beside it


def test_the_scenarios_folder_itself_is_refused(work, capsys):
    scen = copy_of(ROOT / "scenarios", work / "scenarios")
    before = tree(scen)
    assert run(scen) == 2
    refused(capsys, "not a streetsim run result")
    assert tree(scen) == before


def test_an_earlier_result_needs_force_and_is_kept_without_it(earlier, work, capsys):
    out = copy_of(earlier, work / "res")
    before = tree(out)
    assert run(out) == 2
    refused(capsys, "holds an earlier run result", "--force")
    assert tree(out) == before


def test_force_replaces_an_earlier_result_of_the_same_kind(earlier, work, capsys):
    out = copy_of(earlier, work / "res")
    (out / "summary.csv").write_text("replication,marker\n0,old\n")
    assert run(out, "--force", "--seed", "2") == 0
    assert "marker" not in (out / "summary.csv").read_text()
    assert '"seed": 2' in (out / "manifest.json").read_text()
    assert sorted(p.name for p in work.iterdir()) == ["res"]  # the old copy and the temporary folder are gone


def test_force_never_replaces_something_that_is_not_a_result(work, capsys):
    notes = work / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("keep me")
    assert run(notes, "--force") == 2
    refused(capsys, "not a streetsim run result")
    assert (notes / "a.txt").read_text() == "keep me"


def test_a_result_of_another_kind_is_not_replaced(earlier, work, capsys):
    out = copy_of(earlier, work / "res")
    before = tree(out)
    assert main(["compare", MMC, *SHORT, "--replications", "2", "--out", str(out), "--force"]) == 2
    refused(capsys, "not a streetsim compare result")
    assert tree(out) == before


def test_failure_while_writing_keeps_the_earlier_result_whole(earlier, work, monkeypatch, capsys):
    out = copy_of(earlier, work / "res")
    before = tree(out)

    def broken(folder, *_args, **_kwargs):
        (Path(folder) / "figures").mkdir(exist_ok=True)
        raise RuntimeError("disk full while drawing")

    monkeypatch.setattr(figures, "draw", broken)
    with pytest.raises(RuntimeError):
        run(out, "--force")
    assert tree(out) == before
    assert sorted(p.name for p in work.iterdir()) == ["res"]


def test_symbolic_link_is_refused_and_its_target_kept(earlier, work, capsys):
    target = copy_of(earlier, work / "real")
    before = tree(target)
    (work / "link").symlink_to(target)
    assert run(work / "link", "--force") == 2
    refused(capsys, "symbolic link")
    assert tree(target) == before and (work / "link").is_symlink()


@pytest.mark.parametrize("out,words", [
    (".", ["current folder"]),
    ("", ["empty"]),
    ("..", ["current folder or above"]),
    ("x" * 300, ["300 bytes", "limit"]),
    ("/proc/streetsim-results", ["cannot write in /proc"]),
    ("/dev/null/x", ["is a file, not a folder"]),
])  # fmt: skip
def test_odd_places_get_one_line_before_anything_runs(out, words, work, capsys):
    before = sorted(work.iterdir())
    assert main(["run", MMC, *SHORT, "--out", out]) == 2
    refused(capsys, *words)
    assert sorted(work.iterdir()) == before


@pytest.mark.parametrize("umask,dir_mode,file_mode", [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_result_folders_follow_the_umask(umask, dir_mode, file_mode, work):
    old = os.umask(umask)
    try:
        assert run(work / "res") == 0
    finally:
        os.umask(old)
    out = work / "res"
    assert stat.S_IMODE(out.stat().st_mode) == dir_mode
    assert stat.S_IMODE((out / "figures").stat().st_mode) == dir_mode
    assert stat.S_IMODE((out / "summary.csv").stat().st_mode) == file_mode


def test_sweep_out_on_a_folder_that_is_not_a_sweep_is_refused(work, capsys):
    notes = work / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("keep me")
    exp = work / "e.yaml"
    exp.write_text(f"experiment: e\nscenario: {MMC}\nset: ['horizon.days=15', 'horizon.warmup_days=0']\n"
                   "parameters:\n  staffing.servers.count: {values: [3, 4]}\nreplications: 1\n")  # fmt: skip
    assert main(["sweep", str(exp), "--out", str(notes), "--quiet"]) == 2
    refused(capsys, "not a sweep's results folder")
    assert sorted(p.name for p in notes.iterdir()) == ["a.txt"]


def test_make_clean_removes_the_venv_and_the_demo_but_not_the_users_results(tmp_path):
    """results/ is where `streetsim run` puts a user's results by default: `make clean` must leave them."""
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.fail("make is not installed (the README's quick start needs it)")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for folder in (".venv/bin", "results/demo", "results/reform_2015", "results/compare"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kept.txt").write_text("x")
    subprocess.run(["make", "-s", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert not (tmp_path / ".venv").exists() and not (tmp_path / "results/demo").exists()
    assert (tmp_path / "results/reform_2015/kept.txt").exists() and (tmp_path / "results/compare/kept.txt").exists()


def test_no_figures_are_named_when_none_were_drawn(work, capsys):
    assert run(work / "out", "--no-figures") == 0
    wrote = capsys.readouterr().out.strip().splitlines()[-1]
    assert wrote.startswith("wrote ") and "figures" not in wrote.split("/: ", 1)[1], wrote
    assert not (work / "out" / "figures").exists()


def test_the_longest_file_name_allowed_can_be_written_on_a_host_with_a_long_name(tmp_path, monkeypatch):
    """write_atomic's temporary file carries the host's name; the room left beside a name was sized
    for a folder's temporary name (40 bytes), so on a cluster node named in 60 bytes a name the
    check accepted failed when written ('File name too long')."""
    import socket

    from sim import results_folder

    monkeypatch.setattr(socket, "gethostname", lambda: "compute-node-0042.hpc-cluster.district-data-centre.sh.gov.cn")
    longest = tmp_path / ("x" * (results_folder.NAME_MAX - results_folder.suffix_room() - 4) + ".csv")
    results_folder.check_regular_file(longest, "--to")  # accepted...
    results_folder.write_atomic(longest, lambda p: p.write_text("a,b\n"))  # ...and written
    assert longest.read_text() == "a,b\n"
    with pytest.raises(ScenarioError, match="the limit is"):
        results_folder.check_regular_file(longest.with_name("y" + longest.name), "--to")


def users_own_files(out: Path) -> dict:
    """What a user put into an earlier result: notes, a subfolder, a figure of their own in figures/."""
    (out / "notes.txt").write_text("meeting 3 March: compare with 2014", encoding="utf-8")
    (out / "mine" / "sub").mkdir(parents=True)
    (out / "mine" / "sub" / "budget.csv").write_text("a,b\n1,2\n")
    (out / "figures" / "my_own_plot.png").write_bytes(b"\x89PNG\r\n\x1a\nmine")
    return {"notes.txt": (out / "notes.txt").read_bytes(), "mine/sub/budget.csv": b"a,b\n1,2\n",
            "figures/my_own_plot.png": b"\x89PNG\r\n\x1a\nmine"}  # fmt: skip


def kept_folders(work: Path) -> list[Path]:
    return sorted(p for p in work.iterdir() if p.name.startswith("res-kept-"))


def test_force_moves_a_users_own_files_aside_whole_and_writes_the_new_result(earlier, work, capsys):
    """--force replaced the whole folder: the user's notes and subfolder in it were deleted. Now
    only streetsim's files go; the user's are moved to <out>-kept-<time>-<hex>, with one line."""
    import re

    out = copy_of(earlier, work / "res")
    assert (out / "figures" / "kpi_bars.png").exists()  # the earlier result has its figures
    theirs = users_own_files(out)
    capsys.readouterr()
    assert run(out, "--force", "--seed", "2") == 0
    [kept] = kept_folders(work)
    assert re.fullmatch(r"res-kept-\d{8}-\d{6}-[0-9a-f]{6}", kept.name), kept.name
    assert tree(kept) == theirs  # theirs, whole, and nothing of streetsim's
    assert sorted(p.name for p in work.iterdir()) == ["res", kept.name]  # no hidden .old or .tmp folder
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: --out: ") and str(kept) in err[0] and "3 files" in err[0], err
    # the new result is complete: the files the earlier one had, none of the user's, the new seed
    assert set(tree(out)) == set(tree(earlier))
    assert '"seed": 2' in (out / "manifest.json").read_text()


def test_force_keeps_a_users_files_named_as_another_kinds_results(earlier, work, capsys):
    """A run writes no comparison.csv, streets.csv or differences figure: in a run's folder those
    are the user's. Before: they were taken for streetsim's (any kind's names) and deleted."""
    out = copy_of(earlier, work / "res")
    theirs = {"comparison.csv": b"user,data\n", "streets.csv": b"my,streets\n", "figures/differences.png": b"mine"}
    for name, data in theirs.items():
        (out / name).write_bytes(data)
    assert run(out, "--force", "--seed", "2") == 0
    [kept] = kept_folders(work)
    assert tree(kept) == theirs


def test_force_with_nothing_foreign_keeps_no_folder_and_says_nothing(earlier, work, capsys):
    """Streetsim's own files only (its reports too): all removed, no kept folder, no warning."""
    out = copy_of(earlier, work / "res")
    for report in ("report_zh.pdf", "report_en.pdf"):
        (out / report).write_bytes(b"%PDF-1.7 an earlier report")
    capsys.readouterr()
    assert run(out, "--force", "--seed", "2") == 0
    assert sorted(p.name for p in work.iterdir()) == ["res"]
    assert capsys.readouterr().err == ""
    assert set(tree(out)) == set(tree(earlier))


def test_force_on_a_compare_removes_the_tables_of_the_scenarios_the_earlier_manifest_names(work, capsys):
    """The earlier compare's scenarios (a, b) are not the new one's (c, d): their folders are
    streetsim's because the EARLIER manifest names them; a user's file among them is kept."""
    for name in "abcd":
        (work / f"{name}.yaml").write_text(f"extends: {MMC}\nname: {name}\n", encoding="utf-8")
    opts = [*SHORT, "--replications", "2", "--out", "cmp"]
    assert main(["compare", "a.yaml", "b.yaml", *opts]) == 0
    (work / "cmp" / "b" / "my_reading.txt").write_text("b is the 2014 staffing")
    capsys.readouterr()
    assert main(["compare", "c.yaml", "d.yaml", *opts, "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("cmp-kept-"))
    assert tree(kept) == {"b/my_reading.txt": b"b is the 2014 staffing"}
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*")) == ["b", "b/my_reading.txt"]  # a/ went: empty
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert sorted(p.name for p in (work / "cmp").iterdir()) == ["c", "comparison.csv", "d", "figures", "manifest.json"]


def test_a_failure_while_clearing_the_earlier_result_is_one_warning_and_the_new_result_stays(earlier, work, monkeypatch,
                                                                                           capsys):
    """Clearing the earlier result comes after the new one is in place: an error there (here every
    removal fails) is a warning naming where the earlier result's remains are, never a traceback,
    and the new result stays. (Before, the rmtree of the earlier result took the user's files.)"""
    from sim import results_folder

    out = copy_of(earlier, work / "res")
    theirs = users_own_files(out)

    def failing(*_args, **_kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(results_folder, "_remove_own_file", failing, raising=False)
    capsys.readouterr()
    assert run(out, "--force", "--seed", "2") == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: --out: ") and "Input/output error" in err[0], err
    assert set(tree(out)) == set(tree(earlier)) and '"seed": 2' in (out / "manifest.json").read_text()
    [left] = [p for p in work.iterdir() if p.name != "res"]
    assert str(left) in err[0]
    assert {k: v for k, v in tree(left).items() if k in theirs} == theirs  # the user's files, whole


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_while_clearing_the_earlier_result_leaves_nothing_hidden(earlier, work, monkeypatch, capsys, presses):
    """Ctrl-C while --force clears the earlier result (set aside as a hidden ``.res.old-*``): it
    stopped there, and the user's files were left in that hidden folder, named nowhere. Now one
    press waits until clearing is done (the user's files moved to res-kept-*); a second stops at
    once, and what is left is moved to a res-kept-* folder the warning names. Either way the last
    line says where the new result is (it said "nothing written")."""
    import os
    import signal

    from sim import results_folder

    out = copy_of(earlier, work / "res")
    theirs = users_own_files(out)
    remove = results_folder._remove_own_file
    pressed = []

    def press_then_remove(old, rel):
        if len(pressed) < presses:
            pressed.append(rel)
            os.kill(os.getpid(), signal.SIGINT)
        return remove(old, rel)

    monkeypatch.setattr(results_folder, "_remove_own_file", press_then_remove)
    capsys.readouterr()
    assert run(out, "--force", "--seed", "2") == 128 + signal.SIGINT
    err = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(err) == 2 and err[-1] == f"interrupted (SIGINT); the new result is in {out}", err
    assert len(pressed) == presses
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []  # nothing hidden
    [kept] = kept_folders(work)
    assert str(kept) in err[-2], err  # the warning before it names where the user's files are
    assert {k: v for k, v in tree(kept).items() if k in theirs} == theirs  # the user's files, whole
    if presses == 1:  # cleared in full: only the user's files are kept
        assert tree(kept) == theirs
    assert set(tree(out)) == set(tree(earlier)) and '"seed": 2' in (out / "manifest.json").read_text()


def test_a_failed_move_into_place_puts_the_earlier_result_back_and_names_the_new_one(earlier, work, monkeypatch, capsys):
    """The earlier result is set aside (hidden) before the new one is moved in: when that move
    failed, the earlier result stayed hidden under .res.old-*, named nowhere. Now it goes back to
    res and the error names where the new result is."""
    from pathlib import Path

    out = copy_of(earlier, work / "res")
    before = tree(out)
    rename = Path.rename

    def failing_move_in(self, target):
        if Path(target) == out and ".tmp-" in self.name:
            raise OSError(5, "Input/output error")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing_move_in)
    capsys.readouterr()
    assert run(out, "--force", "--seed", "2") == 2
    err = capsys.readouterr().err.strip().splitlines()
    [new] = [p for p in work.iterdir() if ".tmp-" in p.name]
    assert len(err) == 1 and "Input/output error" in err[0] and str(new) in err[0], err
    assert tree(out) == before  # the earlier result, back where it was
    assert sorted(p.name for p in work.iterdir()) == sorted(["res", new.name])  # no hidden .old folder
    assert '"seed": 2' in (new / "manifest.json").read_text()


def test_force_on_a_district_whose_manifest_names_no_streets_keeps_a_users_folder_in_streets(work, capsys):
    """A district manifest without street_names (written before they were kept, or edited): every
    folder under streets/ was taken for a street's, and a user's summary.csv there was deleted.
    Now only folders a street's run wrote (its scenario.resolved.yaml) are."""
    import json

    (work / "d1.yaml").write_text(f"name: d\nstreets:\n  - {{name: a, scenario: {MMC}}}\n")
    assert main(["run", "d1.yaml", *SHORT, "--out", "d"]) == 0
    manifest = json.loads((work / "d" / "manifest.json").read_text())
    del manifest["street_names"]
    (work / "d" / "manifest.json").write_text(json.dumps(manifest))
    (work / "d" / "streets" / "mine").mkdir()
    (work / "d" / "streets" / "mine" / "summary.csv").write_text("my,own\n")
    capsys.readouterr()
    assert main(["run", "d1.yaml", *SHORT, "--out", "d", "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("d-kept-"))
    assert tree(kept) == {"streets/mine/summary.csv": b"my,own\n"}
    assert sorted(p.name for p in (work / "d" / "streets").iterdir()) == ["a"]


def test_force_on_a_district_removes_the_streets_the_earlier_manifest_names(work, capsys):
    """A district of streets a and b replaced by one of street c: a/ and b/ are streetsim's (the
    earlier manifest names them) and go; a user's file in a/ is moved aside with its folder."""
    (work / "d1.yaml").write_text(f"name: d\nstreets:\n  - {{name: a, scenario: {MMC}}}\n  - {{name: b, scenario: {MMC}}}\n")
    (work / "d2.yaml").write_text(f"name: d\nstreets:\n  - {{name: c, scenario: {MMC}}}\n")
    assert main(["run", "d1.yaml", *SHORT, "--out", "d"]) == 0
    (work / "d" / "streets" / "a" / "mine.txt").write_text("street a's office moved in May")
    capsys.readouterr()
    assert main(["run", "d2.yaml", *SHORT, "--out", "d", "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("d-kept-"))
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*")) == ["streets", "streets/a", "streets/a/mine.txt"]
    assert (kept / "streets" / "a" / "mine.txt").read_text() == "street a's office moved in May"
    assert sorted(p.name for p in (work / "d" / "streets").iterdir()) == ["c"]
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_force_on_a_compare_keeps_a_users_folder_named_as_a_new_scenario(work, capsys):
    """The new compare adds scenario mine; the earlier one (sa, sb) had no mine/, so the user's
    mine/summary.csv there is the user's. Before: every path the NEW result writes was taken for
    streetsim's in the earlier folder, and the user's table was deleted (replaced by the new
    one's) while their notes beside it were moved aside."""
    for name in ("sa", "sb", "mine"):
        (work / f"{name}.yaml").write_text(f"extends: {MMC}\nname: {name}\n", encoding="utf-8")
    opts = [*SHORT, "--replications", "2", "--out", "cmp"]
    assert main(["compare", "sa.yaml", "sb.yaml", *opts]) == 0
    (work / "cmp" / "mine").mkdir()
    theirs = {"mine/summary.csv": b"user's own table, not streetsim's\n", "mine/notes.txt": b"notes\n",
              "sa/my_analysis.csv": b"mine\n"}  # fmt: skip
    for rel, data in theirs.items():
        (work / "cmp" / rel).write_bytes(data)
    capsys.readouterr()
    assert main(["compare", "sa.yaml", "sb.yaml", "mine.yaml", *opts, "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("cmp-kept-"))
    assert tree(kept) == theirs
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "(3 files)" in err[0], err
    assert (work / "cmp" / "mine" / "summary.csv").read_bytes().startswith(b"replication,")  # the new result's
    assert sorted(p.name for p in (work / "cmp" / "mine").iterdir()) == sorted(results_folder.SCENARIO_TABLES)


def test_force_on_a_district_keeps_a_users_folder_named_as_a_new_street(work, capsys):
    """The same under a district's streets/: the earlier district had street a only, so the
    user's streets/b/summary.csv and their empty streets/c/ are theirs when the new district adds
    streets b and c. Before: the table was deleted and the folder removed."""
    streets = "".join(f"  - {{name: {n}, scenario: {MMC}}}\n" for n in "abc")
    (work / "d1.yaml").write_text(f"name: d\nstreets:\n  - {{name: a, scenario: {MMC}}}\n")
    (work / "d2.yaml").write_text(f"name: d\nstreets:\n{streets}")
    assert main(["run", "d1.yaml", *SHORT, "--out", "d"]) == 0
    (work / "d" / "streets" / "b").mkdir()
    (work / "d" / "streets" / "b" / "summary.csv").write_text("my,own\n")
    (work / "d" / "streets" / "c").mkdir()
    capsys.readouterr()
    assert main(["run", "d2.yaml", *SHORT, "--out", "d", "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("d-kept-"))
    assert tree(kept) == {"streets/b/summary.csv": b"my,own\n"}
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*")) == [
        "streets", "streets/b", "streets/b/summary.csv", "streets/c"]  # fmt: skip
    assert sorted(p.name for p in (work / "d" / "streets").iterdir()) == ["a", "b", "c"]
    assert (work / "d" / "streets" / "b" / "summary.csv").read_text().startswith("replication,")


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError])
def test_a_stop_or_failure_inside_the_atomic_folder_removes_the_parent_folders_it_made(work, stop):
    """--out p0/p1/p2/out with no p1/: the folders above out were made before a district's streets
    ran (inside AtomicFolder) and stayed, empty, after a stop or failure that said "nothing
    written". Now those it made are removed again; p0/, there before, and a folder that holds
    something (a user's file put there meanwhile) stay."""
    (work / "p0").mkdir()
    with pytest.raises(stop):
        with results_folder.AtomicFolder(work / "p0" / "p1" / "p2" / "out", "district") as tmp:
            (tmp / "streets" / "a").mkdir(parents=True)
            (tmp / "streets" / "a" / "summary.csv").write_text("replication\n0\n")
            raise stop
    assert sorted(work.rglob("*")) == [work / "p0"]
    with pytest.raises(stop):
        with results_folder.AtomicFolder(Path("p0/p1/p2/out"), "district"):  # relative, as --out is given
            (work / "p0" / "p1" / "theirs.txt").write_text("put here while it ran")
            raise stop
    assert sorted(work.rglob("*")) == [work / "p0", work / "p0" / "p1", work / "p0" / "p1" / "theirs.txt"]


def test_an_interrupted_district_run_into_new_parent_folders_leaves_nothing(work, monkeypatch, capsys):
    """The audit's case: `streetsim run <district> --out p1/p2/out`, stopped while its streets ran,
    said "nothing written" and left p1/p2/ behind."""
    from sim import district

    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt

    (work / "d1.yaml").write_text(f"name: d\nstreets:\n  - {{name: a, scenario: {MMC}}}\n")
    monkeypatch.setattr(district, "run_streets", stopped)
    assert main(["run", "d1.yaml", *SHORT, "--out", "p1/p2/out"]) == 130
    assert "nothing written" in capsys.readouterr().err
    assert sorted(p.name for p in work.iterdir()) == ["d1.yaml"]


@pytest.mark.parametrize("names", [None, "ab"])
def test_force_on_a_compare_whose_manifest_cannot_name_its_scenarios_still_removes_its_own_top_files(work, capsys, names):
    """A compare manifest without scenario_names (edited) lost its kind too: the whole earlier
    result, manifest.json, comparison.csv and figures/ included, went to the kept folder as "not
    written by streetsim"; scenario_names "ab" was read letter by letter (folders a and b)."""
    import json

    for name in "ab":
        (work / f"{name}.yaml").write_text(f"extends: {MMC}\nname: {name}\n", encoding="utf-8")
    opts = [*SHORT, "--replications", "2", "--out", "cmp", "--no-figures"]
    assert main(["compare", "a.yaml", "b.yaml", *opts]) == 0
    manifest = json.loads((work / "cmp" / "manifest.json").read_text(encoding="utf-8"))
    if names is None:
        del manifest["scenario_names"]
    else:
        manifest["scenario_names"] = names
    (work / "cmp" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    capsys.readouterr()
    assert main(["compare", "a.yaml", "b.yaml", *opts, "--force"]) == 0
    [kept] = sorted(p for p in work.iterdir() if p.name.startswith("cmp-kept-"))
    kept_files = sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file())
    assert "manifest.json" not in kept_files and "comparison.csv" not in kept_files, kept_files
    assert "a/summary.csv" in kept_files and "b/summary.csv" in kept_files  # tables it cannot tell are its own: kept


def test_a_parent_removed_by_another_command_meanwhile_is_made_again(work, monkeypatch):
    """Two commands under one new parent: the first to fail removed the parent the other found
    there, and the other's folder could not be made (FileNotFoundError, a traceback, its results
    lost). Now the parent is made again."""
    real_mkdir, calls = Path.mkdir, []

    def racing_mkdir(self, *args, **kwargs):
        if ".tmp-" in self.name and not calls:
            calls.append(self)
            self.parent.rmdir()  # the other command removes it just before ours is made
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", racing_mkdir)
    with results_folder.AtomicFolder(work / "p1" / "out", "run") as tmp:
        assert tmp.is_dir()
        (tmp / "summary.csv").write_text("replication\n0\n")
    assert (work / "p1" / "out" / "summary.csv").is_file()


def test_a_stop_while_the_parents_are_made_leaves_none_of_them(work, monkeypatch):
    real_mkdir = Path.mkdir

    def stopped_at_p2(self, *args, **kwargs):
        if self.name == "p2":
            raise KeyboardInterrupt
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", stopped_at_p2)
    with pytest.raises(KeyboardInterrupt):
        with results_folder.AtomicFolder(work / "p1" / "p2" / "out", "run"):
            pass
    assert list(work.iterdir()) == []


def test_a_parent_that_is_a_link_to_nowhere_is_refused_before_anything_runs(work, capsys):
    """It passed the checks (it does not exist) and failed once the results were made: FileExistsError."""
    (work / "p1").symlink_to(work / "nowhere")
    assert run(Path("p1/p2/out")) == 2
    refused(capsys, "p1 is a symbolic link that leads to no folder")
    assert sorted(p.name for p in work.iterdir()) == ["p1"]
