"""Ctrl-C and SIGTERM stop long commands within seconds, end their workers, write nothing and say
so in one line; a killed main process leaves no worker behind (workers watch their parent)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
STOP_SECONDS = 10  # from the signal to the exit, on a loaded 2-core machine


def start(argv, cwd):
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *argv], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip


def wait_for_workers(proc, n, timeout=90) -> list[psutil.Process]:
    """The command's descendants once ``n`` worker processes are running a replication."""
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = parent.children(recursive=True)
        busy = [k for k in kids if _cpu(k) > 0.3]
        if len(busy) >= n:
            return kids
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.5)
    pytest.fail("workers never started")


def _cpu(p) -> float:
    try:
        t = p.cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def gone(procs, timeout=STOP_SECONDS) -> list:
    _gone, alive = psutil.wait_procs(procs, timeout=timeout)
    for p in alive:  # do not leave them for the next test
        p.kill()
    return alive


@pytest.fixture
def two_scenarios(tmp_path):
    other = tmp_path / "mmc_b.yaml"
    other.write_text(f"extends: {MMC}\nname: mmc_b\nstaffing:\n  servers: {{count: 4}}\n")
    return [str(MMC), str(other)]


@pytest.mark.parametrize("sig,status,name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_signal_stops_compare_mid_run(sig, status, name, two_scenarios, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    proc = start(["compare", *two_scenarios, "--replications", "8", "--workers", "2", "--quiet",
                  "--set", "horizon.days=3000", "--out", "cmp"], work)  # minutes of work if not stopped
    kids = wait_for_workers(proc, 2)
    t0 = time.monotonic()
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    seconds = time.monotonic() - t0
    assert proc.returncode == status, err
    assert seconds < STOP_SECONDS, seconds
    assert err.strip().splitlines() == [f"interrupted ({name}); workers stopped, nothing written"], err
    assert gone(kids, timeout=5) == []
    assert list(work.iterdir()) == []  # no results, no temporary folder


def test_sigterm_while_run_starts_its_workers_stops_them_all_quietly(tmp_path):
    """`run -j 2` spawns fresh interpreters as its workers (each imports the model, ~1 s): a signal
    while they import stops them with the command, in one line. (The pool's submit calls, where
    `processes.interrupts_deferred` holds a signal, last milliseconds: this test lands after them, and
    passes on 8c81b89 too.) stderr is read to its end, so a worker that outlived the command and
    failed would show."""
    for k, delay in enumerate((0.0, 0.3, 0.7, 1.2)):
        work = tmp_path / f"w{k}"
        work.mkdir()
        proc = start(["run", str(MMC), "--replications", "4", "--workers", "2", "--quiet", "--set",
                      "horizon.days=3000", "--out", "r"], work)  # fmt: skip
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while not parent.children():  # the first spawned interpreter
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.01)
        kids = parent.children(recursive=True)
        time.sleep(delay)
        kids += parent.children(recursive=True)
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=60)  # ends once every process holding stderr has ended
        except subprocess.TimeoutExpired:
            gone([parent, *kids], timeout=0)  # do not leave them for the next test
            raise
        assert proc.returncode == 143, f"SIGTERM {delay} s after the first worker appeared:\n{err}"
        assert err.strip().splitlines() == ["interrupted (SIGTERM); workers stopped, nothing written"], err
        assert gone(kids, timeout=5) == []
        assert list(work.iterdir()) == []


def test_sigint_after_some_streets_are_written_leaves_nothing(tmp_path):
    """A district run writes each street's tables as it finishes, into its temporary folder: an
    interrupt then removes them with it. The first street (the most residents, run first) is
    quick; the other two take tens of seconds."""
    district = tmp_path / "district.yaml"
    street = "{{name: {}, scenario: {}, set: {{street.residents: {}, case_types.job.arrivals.per_hour: {}}}}}"
    district.write_text("name: d\nstreets:\n" + "".join(
        f"  - {street.format(name, MMC, residents, rate)}\n"
        for name, residents, rate in [("quick", 9000, 0.2), ("slow_a", 100, 2.0), ("slow_b", 100, 2.0)]))  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    proc = start(["run", str(district), "--replications", "1", "--workers", "2", "--quiet",
                  "--set", "horizon.days=3000", "--out", "d"], work)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(work.glob(".d.tmp-*/streets/quick/cases.parquet")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted (SIGINT); workers stopped, nothing written"], err
    assert list(work.iterdir()) == []  # the street written is gone with the temporary folder


def test_killed_run_leaves_no_worker(tmp_path):
    """SIGKILL cannot be handled: the workers must notice that their parent is gone."""
    proc = start(["run", str(MMC), "--replications", "4", "--workers", "2", "--quiet", "--set", "horizon.days=3000",
                  "--out", str(tmp_path / "r")], tmp_path)  # fmt: skip
    kids = wait_for_workers(proc, 2)
    proc.kill()
    proc.communicate()
    assert gone(kids) == []


def test_killed_sweep_leaves_no_worker(tmp_path):
    exp = tmp_path / "e.yaml"
    exp.write_text(f"experiment: e\nscenario: {MMC}\nset: ['horizon.days=3000']\nreplications: 2\n"
                   "parameters:\n  staffing.servers.count: {values: [3, 4]}\n")  # fmt: skip
    proc = start(["sweep", str(exp), "--workers", "2", "--quiet", "--out", str(tmp_path / "s")], tmp_path)
    kids = wait_for_workers(proc, 2)
    proc.kill()
    proc.communicate()
    assert gone(kids) == []  # the workers and the forkserver


def test_killed_dask_sweep_leaves_no_worker(tmp_path):
    """The same on a real Dask LocalCluster: its worker processes end when the sweep is killed."""
    pytest.importorskip("dask.distributed")
    exp = tmp_path / "e.yaml"
    exp.write_text(f"experiment: e\nscenario: {MMC}\nset: ['horizon.days=3000']\nreplications: 2\n"
                   "parameters:\n  staffing.servers.count: {values: [3, 4]}\n")  # fmt: skip
    proc = start(["sweep", str(exp), "--executor", "dask", "--workers", "2", "--quiet", "--out", str(tmp_path / "s")],
                 tmp_path)  # fmt: skip
    kids = wait_for_workers(proc, 2)
    proc.kill()
    proc.communicate()
    assert len(kids) >= 2 and gone(kids) == []  # the two workers and multiprocessing's tracker
