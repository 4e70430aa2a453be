"""Sweeps on a real one-node SLURM cluster (tests/slurm_cluster.py): the shipped sbatch file as a
job array (all tasks; a cancelled subset resubmitted; 0- and 1-based indices), failed runs fail
their task, each run stored exactly once, results equal the local executor's; a sweep through
dask-jobqueue's SLURMCluster; a failing sbatch under dask-jobqueue ends in one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from slurm_cluster import unavailable
from test_sweep_helpers import MMC, ROOT, raw_run_ids

from sim.sweep import experiment, store
from sim.sweep.run import run_sweep

SBATCH = ROOT / "experiments" / "slurm_array.sbatch"
TASK = ["--cpus-per-task=1", "--mem-per-cpu=200M", "--time=00:10:00"]  # two tasks at once on the 2-CPU node
KPIS = ["cases_arrived", "utilisation_servers"]
pytestmark = pytest.mark.skipif(unavailable() is not None, reason=unavailable() or "")


@pytest.fixture(scope="module")
def cluster(slurm):
    return slurm  # tests/conftest.py starts and stops it


def write_exp(path: Path, points: dict, replications: int = 2, kpis=KPIS, extra=(), **more) -> Path:
    spec = {"experiment": path.stem, "scenario": str(MMC),
            "set": ["horizon.days=10", "horizon.warmup_days=0", *extra],
            "parameters": points, "replications": replications, "seed": 5, "kpis": kpis, **more}  # fmt: skip
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def exp4(tmp_path_factory):
    """8 runs; with SHARDS=4 each array task runs 2. The local executor's results to compare with."""
    d = tmp_path_factory.mktemp("exp4")
    exp = write_exp(d / "four.yaml", {"staffing.servers.count": {"values": [3, 4, 5, 6]}})
    local = d / "local"
    run_sweep(experiment.load(exp), local, "local", workers=1, progress=False)
    return exp, comparable(local)


def comparable(out: Path):
    t = store.read_results(out)
    return t.drop(columns=["seconds", "worker", "worker_pid"]).sort_values("run_id").reset_index(drop=True)


def submit_array(cluster, exp, out, array, shards, *extra, logs):
    env = f"ALL,EXP={exp},OUT={out},SHARDS={shards},VENV={ROOT / '.venv'}"
    return cluster.sbatch(f"--array={array}", f"--export={env}", f"--output={logs}/%A_%a.log", *TASK, *extra,
                          str(SBATCH), cwd=ROOT)  # fmt: skip


def stored_once(out: Path, n: int) -> None:
    counts = Counter(raw_run_ids(out))
    assert len(counts) == n and max(counts.values()) == 1, counts


def test_array_1_based_then_the_cancelled_tasks_resubmitted(cluster, exp4, tmp_path):
    exp, local = exp4
    out = tmp_path / "out"
    t0 = time.monotonic()
    job = submit_array(cluster, exp, out, "1-4", 4, "--hold", logs=tmp_path)
    cluster.run("scancel", f"{job}_2", f"{job}_4")  # two tasks lost (cancelled, as if killed)
    cluster.run("scontrol", "release", job)
    states = cluster.wait(job)
    assert states["1"][0] == states["3"][0] == "COMPLETED", states
    assert all(states.get(t, ("CANCELLED",))[0] == "CANCELLED" for t in ("2", "4")), states  # pending ones vanish
    stored_once(out, 4)
    # the comment in the sbatch file: resubmit only what failed, with the same SHARDS
    job2 = submit_array(cluster, exp, out, "2,4", 4, logs=tmp_path)
    assert {s for s, _ in cluster.wait(job2).values()} == {"COMPLETED"}
    stored_once(out, 8)
    assert comparable(out).equals(local)
    print(f"1-based array + resubmission: {time.monotonic() - t0:.1f} s")


def test_array_0_based_runs_every_shard(cluster, exp4, tmp_path):
    exp, local = exp4
    out = tmp_path / "out"
    t0 = time.monotonic()
    job = submit_array(cluster, exp, out, "0-3", 4, logs=tmp_path)
    assert {s for s, _ in cluster.wait(job).values()} == {"COMPLETED"}
    stored_once(out, 8)
    assert comparable(out).equals(local)
    print(f"0-based array: {time.monotonic() - t0:.1f} s")


def test_a_task_whose_runs_fail_is_failed(cluster, tmp_path):
    """Point survey.respondents=0 reports no survey KPI, so its run fails (KeyError, recorded);
    shard 1 holds that run, shard 2 the other point's."""
    exp = write_exp(tmp_path / "fails.yaml", {"survey.respondents": {"values": [0, 20]}}, replications=1,
                    kpis=["cases_arrived", "survey_satisfaction"], extra=["survey.respondents=20"])  # fmt: skip
    out = tmp_path / "out"
    job = submit_array(cluster, exp, out, "1-2", 2, logs=tmp_path)
    states = cluster.wait(job)
    assert states["1"] == ("FAILED", "1:0") and states["2"] == ("COMPLETED", "0:0"), states
    t = store.read_results(out)
    assert list(t["status"]) == ["failed", "ok"] and "survey_satisfaction" in t["error"][0]


def test_an_index_outside_the_shards_fails_with_one_line(cluster, exp4, tmp_path):
    exp, _ = exp4
    job = submit_array(cluster, exp, tmp_path / "out", "5", 4, logs=tmp_path)
    assert cluster.wait(job)["5"] == ("FAILED", "2:0")
    log = (tmp_path / f"{job}_5.log").read_text()
    assert log.strip().splitlines() == ["error: array index 5 is outside 0..4; set SHARDS (sbatch --export=ALL,SHARDS=N) "
                                        "to the number of shards"]  # fmt: skip
    assert not (tmp_path / "out").exists()


def jobqueue(tmp_path, **extra) -> dict:
    return {"cluster": "slurm", "jobs": 1, "options": {
        "cores": 1, "processes": 1, "memory": "500MB", "walltime": "00:10:00", "python": sys.executable,
        "interface": "lo", "scheduler_options": {"interface": "lo", "dashboard_address": None},
        "log_directory": str(tmp_path / "dask-logs"), "local_directory": str(tmp_path), **extra}}  # fmt: skip


def sweep(cluster, exp, out, timeout=240):
    return subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(exp), "--executor", "dask", "--out", str(out),
                           "--quiet"], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={**cluster.env, "PYTHONPATH": str(ROOT)})  # fmt: skip


def test_dask_jobqueue_slurm_cluster(cluster, exp4, tmp_path):
    exp4_file, local = exp4
    spec = yaml.safe_load(exp4_file.read_text())
    exp = write_exp(tmp_path / "four.yaml", spec["parameters"], dask_jobqueue=jobqueue(tmp_path))
    t0 = time.monotonic()
    proc = sweep(cluster, exp, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    stored_once(tmp_path / "out", 8)
    assert comparable(tmp_path / "out").equals(local)
    workers = set(store.read_results(tmp_path / "out")["worker"])
    assert len(workers) == 1 and all(w.split(":")[1] != str(proc.args) for w in workers)
    print(f"dask-jobqueue SLURMCluster sweep: {time.monotonic() - t0:.1f} s")


def test_dask_jobqueue_with_a_failing_sbatch_ends_in_one_line(cluster, exp4, tmp_path):
    exp4_file, _ = exp4
    spec = yaml.safe_load(exp4_file.read_text())
    exp = write_exp(tmp_path / "four.yaml", spec["parameters"],
                    dask_jobqueue=jobqueue(tmp_path, queue="no_such_partition"))  # fmt: skip
    t0 = time.monotonic()
    proc = sweep(cluster, exp, tmp_path / "out", timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: dask_jobqueue: slurm: submitting the worker jobs failed"), lines
    assert "invalid partition" in lines[0].lower(), lines
    assert time.monotonic() - t0 < 120
    assert not os.path.exists(tmp_path / "out" / "parts")
