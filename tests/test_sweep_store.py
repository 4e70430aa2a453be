"""The sweep store heals: damaged part files are reported in one line, set aside and their runs
run again; one sweep at a time per folder, so no run is stored twice; reads count each run once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_sweep_helpers import ROOT, figure_text, kpi_table, raw_run_ids, write_experiment

from sim import cli
from sim.sweep import experiment, store
from sim.sweep.run import run_sweep, sweep_lock


@pytest.fixture
def swept(tmp_path):
    """A finished sweep of 12 runs in part files of 2 runs each."""
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    out = tmp_path / "out"
    run_sweep(experiment.load(exp), out, "local", workers=1, progress=False, chunk_size=2)
    return exp, out


def test_damaged_parts_are_reported_set_aside_and_run_again(swept, capsys):
    exp, out = swept
    parts = store.part_files(out)
    assert len(parts) == 6
    lost = set()
    damage = {
        parts[0]: lambda f: f.write_bytes(f.read_bytes()[: f.stat().st_size // 2]),  # truncated
        parts[1]: lambda f: f.write_bytes(b"\0" * f.stat().st_size),  # zeroed
        parts[2]: lambda f: pd.DataFrame({"x": [1]}).to_parquet(f),  # overwritten by another table
    }
    for f, spoil in damage.items():
        lost |= set(pd.read_parquet(f)["run_id"])
        spoil(f)
    capsys.readouterr()

    # reading reports each damaged file in one line and counts its runs as pending
    table = store.read_results(out)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("warning: damaged part file") for line in err), err
    assert set(table.loc[table["status"] == "pending", "run_id"]) == lost

    # resuming runs exactly the lost runs again
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--chunk-size", "2"]) == 0
    captured = capsys.readouterr()
    assert sum("damaged part file" in line for line in captured.err.splitlines()) == 3
    assert "6 runs in" in captured.out and "6 were already stored" in captured.out
    assert sorted(f.name for f in (out / "parts").glob("damaged-*")) == sorted(f"damaged-{f.name}" for f in damage)
    table = store.read_results(out)
    assert (table["status"] == "ok").all() and len(table) == 12
    assert Counter(raw_run_ids(out)).most_common(1)[0][1] == 1  # no run stored twice


def test_temporary_files_of_a_writer_killed_mid_write_are_removed_on_resume(swept, capsys):
    """A writer SIGKILLed between writing its temporary file and renaming it leaves a hidden
    ``.tmp`` that nothing reads; the next sweep on the folder removes it — and only files whose
    writer is gone: a live process's, or another host's (whose processes this host cannot see)."""
    exp, out = swept
    parts = out / "parts"
    victim = parts / "part-killed.parquet"
    code = ("import os, sys; from pathlib import Path; from sim.results_folder import write_atomic; "
            "write_atomic(Path(sys.argv[1]), lambda p: (p.write_text('half a part'), os.kill(os.getpid(), 9)))")
    proc = subprocess.run([sys.executable, "-c", code, str(victim)], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    [left] = parts.glob(f".{victim.name}.*.tmp")  # what the killed writer left
    assert not victim.exists()
    host = socket.gethostname()
    kept = [parts / f".part-live.parquet.{host}-{os.getpid()}-0123abcd.tmp",  # this process: alive
            parts / f".part-away.parquet.{host}x-{proc_pid_gone()}-0123abcd.tmp"]  # another host's  # fmt: skip
    for f in kept:
        f.write_text("being written")
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--chunk-size", "2"]) == 0
    assert "0 runs in" in capsys.readouterr().out
    assert not left.exists() and all(f.exists() for f in kept)
    assert len(store.read_results(out)) == 12


def proc_pid_gone() -> int:
    """The pid of a process that has ended (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _zero(f: Path) -> None:
    f.write_bytes(b"\0" * f.stat().st_size)


def _flip_a_value(column: str):
    """Change one byte inside a column's data: the file still opens, its numbers would be wrong."""

    def flip(f: Path) -> None:
        meta = pq.ParquetFile(f).metadata.row_group(0)
        chunk = next(meta.column(i) for i in range(meta.num_columns) if meta.column(i).path_in_schema == column)
        start = chunk.dictionary_page_offset or chunk.data_page_offset
        data = bytearray(f.read_bytes())
        data[start + chunk.total_compressed_size - 1] ^= 0xFF  # the last byte of the page's payload
        f.write_bytes(bytes(data))

    return flip


def _overwrite_with_another_table(f: Path) -> None:
    pd.DataFrame({"x": [1]}).to_parquet(f)


def _series_of_other_runs(f: Path) -> None:
    """A valid time series file, but another part's."""
    other = next(g for g in f.parent.glob("part-*.parquet") if g != f)
    f.write_bytes(other.read_bytes())


DAMAGE = {
    "part truncated": ("parts", _truncate),
    "part zeroed": ("parts", _zero),
    "part overwritten": ("parts", _overwrite_with_another_table),
    "part with numbers for text": ("parts", lambda f: pd.DataFrame({"run_id": [1], "status": [2]}).to_parquet(f)),
    "part value changed": ("parts", _flip_a_value("wait_mean_days")),
    "series truncated": ("timeseries", _truncate),
    "series zeroed": ("timeseries", _zero),
    "series overwritten": ("timeseries", _overwrite_with_another_table),
    "series of other runs": ("timeseries", _series_of_other_runs),
    "series value changed": ("timeseries", _flip_a_value("open_cases")),
    "series deleted": ("timeseries", Path.unlink),
    "design truncated": ("design.parquet", _truncate),
    "design overwritten": ("design.parquet", _overwrite_with_another_table),
    "design value changed": ("design.parquet", _flip_a_value("staffing.servers.count")),
    "manifest truncated": ("manifest.json", _truncate),
    "manifest zeroed": ("manifest.json", _zero),
    "manifest a list": ("manifest.json", lambda f: f.write_text("[]")),
}


@pytest.fixture(scope="module")
def swept_with_series(tmp_path_factory):
    """An undamaged sweep of 12 runs keeping a daily series, in 6 part and 6 series files."""
    tmp = tmp_path_factory.mktemp("series")
    exp = write_experiment(tmp / "e.yaml", days=15, replications=2, timeseries=["open_cases"])
    out = tmp / "out"
    run_sweep(experiment.load(exp), out, "local", workers=1, progress=False, chunk_size=2)
    return exp, out, kpi_table(out), store.read_timeseries(out)


def test_a_damaged_part_in_a_folder_named_with_an_escape_is_reported_without_it(swept_with_series, tmp_path, capsys):
    """`sweep-results` reads a store named on the command line: its warning about a damaged
    part quoted the folder (and the reader's reason) raw, ESC included."""
    _, clean, _, _ = swept_with_series
    out = tmp_path / "out\x1b[31m"
    shutil.copytree(clean, out)
    _truncate(store.part_files(out, "parts")[2])
    capsys.readouterr()
    assert cli.main(["sweep-results", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"warning: damaged part file {tmp_path}/out\\x1b[31m/parts/") and "\x1b" not in err, err


@pytest.mark.parametrize("case", DAMAGE)
def test_every_kind_of_damaged_file_is_reported_and_its_runs_run_again(case, swept_with_series, tmp_path, capsys):
    """Whatever file of the store is damaged, `sweep-results` says so in one line (no traceback,
    no garbage), the resumed sweep says so in one line and recomputes exactly the runs that file
    held, and the results equal the undamaged sweep's."""
    exp, clean, clean_kpis, clean_series = swept_with_series
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    where, spoil = DAMAGE[case]
    f = store.part_files(out, where)[2] if where in ("parts", "timeseries") else out / where
    lost = set(pd.read_parquet(out / "parts" / f.name)["run_id"]) if where in ("parts", "timeseries") else set()
    spoil(f)
    capsys.readouterr()

    status = cli.main(["sweep-results", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(f) in err[0], err
    if lost:
        assert status == 0 and err[0].startswith("warning: damaged"), err
    else:  # without its design or manifest the store cannot be read: one line, exit 2
        assert status == 2 and err[0].startswith(f"error: {f}: damaged") and "run `streetsim sweep` again" in err[0]

    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1", "--chunk-size", "2"]) == 0
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: damaged") and str(f) in err[0], err
    assert f"{len(lost)} runs in" in captured.out and f"{12 - len(lost)} were already stored" in captured.out
    ids = raw_run_ids(out)
    assert len(ids) == len(set(ids)) == 12  # each run stored exactly once
    pd.testing.assert_frame_equal(kpi_table(out), clean_kpis)
    pd.testing.assert_frame_equal(store.read_timeseries(out), clean_series)
    if lost:  # set aside, not deleted: the damaged file and its partner
        assert (out / "parts" / f"damaged-{f.name}").exists()
        assert (out / "timeseries" / f"damaged-{f.name}").exists() or case == "series deleted"
    # healed: a second resume finds nothing to say and nothing to run
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "0 runs in" in captured.out


@pytest.mark.parametrize("command", [["figures"], ["report", "--lang", "en"]])
def test_figures_and_report_on_a_damaged_design_give_one_line(command, swept_with_series, tmp_path, capsys):
    _exp, clean, _kpis, _series = swept_with_series
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    _flip_a_value("staffing.servers.count")(out / "design.parquet")
    before = sorted(out.rglob("*"))
    capsys.readouterr()
    assert cli.main([command[0], str(out), *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "design.parquet" in err[0], err
    assert "checksum" in err[0]
    assert sorted(out.rglob("*")) == before  # nothing written



def test_every_sweep_figure_comes_as_png_svg_and_pdf_with_its_text(swept_with_series, tmp_path):
    """A sweep's figures were written as PNG and SVG only (their own writer in sim.sweep.figures);
    proposals print them: each one is in the three formats, the PDF's title read back."""
    _exp, clean, _kpis, _series = swept_with_series
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    assert cli.main(["figures", str(out), "--lang", "zh"]) == 0
    stems = sorted({p.stem for p in (out / "figures").iterdir()})
    assert stems == ["heatmap_case_types_job_arrivals_per_hour_staffing_servers_count",
                     "response_case_types_job_arrivals_per_hour_by_staffing_servers_count"]  # fmt: skip
    for stem in stems:
        assert "每个设计点2次重复" in figure_text(out / "figures", stem), stem

def test_sweep_results_on_a_damaged_store_gives_lines_not_a_traceback(swept, capsys):
    _exp, out = swept
    store.part_files(out)[0].write_bytes(b"garbage")
    assert cli.main(["sweep-results", str(out)]) == 0
    captured = capsys.readouterr()
    assert "10 ok, 2 pending" in captured.out
    assert captured.err.count("warning: damaged part file") == 1


def test_a_second_sweep_on_the_same_folder_is_refused(swept, capsys):
    exp, out = swept
    with sweep_lock(out.resolve(), None):  # a sweep running elsewhere on this folder
        assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--retry-failed"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is in use by another sweep (pid" in err, err


def test_shards_of_one_array_share_the_folder(tmp_path):
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    plan = experiment.load(exp)
    out = (tmp_path / "out").resolve()
    with sweep_lock(out, (1, 2)):  # shard 1 running
        res = run_sweep(plan, out, "slurm-array", workers=1, shard=(2, 2), progress=False)
    assert res.ran == 6


def test_shards_of_another_count_are_refused_while_an_array_runs(tmp_path, capsys):
    """--shard 1/3 while shards of 2 run would store the runs they share twice: one line, exit 2."""
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    out = (tmp_path / "out").resolve()
    with sweep_lock(out, (1, 2)):  # an array of 2 shards running on this folder
        for argv in (["--executor", "slurm-array", "--shard", "1/3"], []):
            assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", *argv]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1, err
        assert err[0].startswith(f"error: --out: {out} is in use by another sweep (shards 2:"), err
        assert not store.part_files(out)
        res = run_sweep(experiment.load(exp), out, "slurm-array", workers=1, shard=(2, 2), progress=False)
        assert res.ran == 6  # the array's own shards still share the folder
    assert store.part_files(out)


def test_shard_count_refusal_is_one_line(tmp_path, capsys):
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    out = (tmp_path / "out").resolve()
    with sweep_lock(out, (2, 2)):
        assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--executor", "slurm-array",
                         "--shard", "3/3"]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: --shard: 3/3: {out} is being swept in 2 shards (shards 2: "), err
    assert "use --shard I/2" in err[0]
    assert not (out / "parts").exists()


def test_a_shard_already_running_is_refused(tmp_path, capsys):
    """A task resubmitted while it still runs would compute its runs twice: one line, exit 2;
    the array's other shards go on."""
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    out = (tmp_path / "out").resolve()
    with sweep_lock(out, (2, 3)):  # shard 2/3 running
        argv = ["sweep", str(exp), "--out", str(out), "--quiet", "--executor", "slurm-array", "--shard"]
        assert cli.main([*argv, "2/3"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: --shard: 2/3 is already running (pid {os.getpid()} on "), err
        assert not store.part_files(out)
        assert cli.main([*argv, "1/3"]) == 0
        assert len(raw_run_ids(out)) == 4
    assert cli.main([*argv, "2/3"]) == 0  # once it has ended
    assert len(raw_run_ids(out)) == 8


def test_a_folder_another_shard_is_just_starting_is_a_sweeps(tmp_path, capsys):
    """Shards of an array start together: one finds the folder another has just locked, with its
    design written and its manifest still a temporary file. That is a sweep's folder, not a
    stranger's (a SLURM array task failed on it); lock files beside other files are not."""
    exp = write_experiment(tmp_path / "e.yaml", days=10, replications=1)
    out = tmp_path / "out"
    out.mkdir()
    for name in (".lock", ".lock-guard", "design.parquet", ".manifest.json.node-12-ab12cd34.tmp"):
        (out / name).write_bytes(b"")
    (out / ".locks").mkdir()
    argv = ["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1"]
    guard_only = tmp_path / "guard_only"  # the very first moment: the guard taken, nothing else
    guard_only.mkdir()
    (guard_only / ".lock-guard").write_bytes(b"")
    assert cli.main([*argv[:3], str(guard_only), *argv[4:]]) == 0
    assert cli.main(argv) == 0
    assert len(store.read_results(out, status="ok")) == 6
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / ".lock").write_bytes(b"")
    (notes / "ideas.txt").write_text("keep me")
    capsys.readouterr()
    assert cli.main([*argv[:3], str(notes), *argv[4:]]) == 2
    assert "is not a sweep's results folder" in capsys.readouterr().err
    assert sorted(f.name for f in notes.iterdir()) == [".lock", "ideas.txt"]


def test_a_resubmission_with_another_shard_count_stores_each_run_once(tmp_path):
    """An array of 3 that ran partly, resubmitted as an array of 2 once it has ended."""
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    plan = experiment.load(exp)
    out = tmp_path / "out"
    assert run_sweep(plan, out, "slurm-array", workers=1, shard=(2, 3), progress=False, chunk_size=3).ran == 4
    again = [run_sweep(plan, out, "slurm-array", workers=1, shard=(i, 2), progress=False, chunk_size=2) for i in (1, 2)]
    assert sum(res.ran for res in again) == 8
    ids = raw_run_ids(out)
    assert len(ids) == 12 and len(set(ids)) == 12


def test_different_chunk_sizes_never_store_a_run_twice(tmp_path):
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2)
    plan = experiment.load(exp)
    out = tmp_path / "out"
    run_sweep(plan, out, "slurm-array", workers=1, shard=(1, 3), progress=False, chunk_size=3)
    run_sweep(plan, out, "local", workers=1, progress=False, chunk_size=5)
    run_sweep(plan, out, "local", workers=1, progress=False, chunk_size=2)
    ids = raw_run_ids(out)
    assert len(ids) == 12 and len(set(ids)) == 12


def test_a_design_over_the_stated_limit_needs_yes(tmp_path, monkeypatch, capsys):
    from sim import limits

    monkeypatch.setattr(limits, "SWEEP_RUNS_WITHOUT_YES", 10)  # the real limit is 10,000 runs
    exp = write_experiment(tmp_path / "e.yaml", days=10, replications=1)  # 6 points x 2 = 12 runs
    exp.write_text(exp.read_text().replace("replications: 1", "replications: 2"))
    out = tmp_path / "out"
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {exp}: design: 12 runs (more than 10); check the design and add --yes to start it"
    assert not out.exists()
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--yes"]) == 0
    assert len(store.read_results(out, status="ok")) == 12


def test_sweep_results_names_each_parameter_and_keeps_its_key_path(tmp_path, capsys):
    """`sweep-results` headed its columns with raw key paths; now each column is named as the
    sweep's figures name it (sim.labels.short_name: the parameter's own name in --lang, a key with
    none by its key path, not by its lever's name, which names no one key), and a legend above the
    table gives each key under its name (a lever's key under its lever's name)."""
    lever = "levers.responsibility_lists.bounce_probability_without_lists"
    exp = write_experiment(tmp_path / "e.yaml", days=15, replications=2, parameters={
        "staffing.servers.count": {"values": [3, 4]}, lever: {"values": [0.2, 0.4]}})  # fmt: skip
    out = tmp_path / "out"
    run_sweep(experiment.load(exp), out, "local", workers=2, progress=False)
    for lang, name, count_name in (("en", "responsibility lists (A/B/C/D)", "posts, servers"),
                                   ("zh", "责任清单（A/B/C/D类）", "servers人数")):  # fmt: skip
        for runs in ([], ["--runs"]):
            capsys.readouterr()
            assert cli.main(["sweep-results", str(out), "--lang", lang, *runs]) == 0
            lines = capsys.readouterr().out.splitlines()
            (header,) = [line for line in lines if line.split()[:1] in (["point"], ["run_id"])]
            assert lever in header and count_name in header and name not in header, header
            assert "staffing.servers.count" not in header, header
            (row,) = [i for i, line in enumerate(lines) if line.strip() == name]  # the legend: name, key path under it
            assert lines[row + 1].strip() == lever, lines[row:row + 2]
    capsys.readouterr()
    assert cli.main(["sweep-results", str(out)]) == 0  # English by default
    assert "posts, servers" in capsys.readouterr().out
    # --to writes the table as stored: its columns are the key paths
    assert cli.main(["sweep-results", str(out), "--to", str(tmp_path / "runs.csv")]) == 0
    assert lever in pd.read_csv(tmp_path / "runs.csv").columns


def test_the_store_writes_through_results_folder_and_does_not_re_export_it(tmp_path, monkeypatch):
    """write_atomic and remove_dead_writers_files live in sim.results_folder only; the store calls
    them there, so there is one name for each and a stand-in for the writer reaches the store."""
    from sim import results_folder

    assert not hasattr(store, "write_atomic") and not hasattr(store, "remove_dead_writers_files")
    written = []
    real = results_folder.write_atomic
    monkeypatch.setattr(results_folder, "write_atomic", lambda path, write: (written.append(path), real(path, write)))
    store.write_parquet(tmp_path / "t.parquet", pd.DataFrame({"a": [1, 2]}))
    store.write_manifest(tmp_path, {"kind": "sweep"})
    assert written == [tmp_path / "t.parquet", tmp_path / store.MANIFEST]
    assert pd.read_parquet(tmp_path / "t.parquet")["a"].tolist() == [1, 2]
