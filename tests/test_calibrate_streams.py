"""Calibration's runs are each on their own random streams; a sweep's keep common random numbers.

The emulators take every run's noise as independent of every other run's. With replication r on
one stream at every point of every wave (common random numbers), the replications' shared noise
moved the emulator's mean by an offset its variance left out: in the shipped calibration's runs,
rep0 - rep1 had one sign at 44-46 of 48 points for some quantities. A stub model here gives
f(x) plus the first normal of the run's stream, so each run's noise shows which stream it got.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import yaml
from scipy.stats import binomtest
from test_sweep_helpers import write_experiment

from sim import provenance, runner
from sim.calibrate import fit
from sim.calibrate import observed as observed_file
from sim.calibrate.simulate import Execution
from sim.sweep import experiment, worker

SMALL = "tests/calibration/small_street.yaml"
KEY = "loop.discovery.resident_report_per_day"
METHOD = {"waves": 3, "points": 16, "replications": 2, "seed": 2015, "candidates": 1000, "posterior_draws": 4}
NOISE_SD = 0.01


def _observed(tmp_path):
    spec = {
        "calibration": "streams",
        "observed": [{"quantity": "patrol_discovery_share", "value": 0.95, "sd": 0.01, "source": "stub"}],
        "parameters": {KEY: {"min": 0.02, "max": 0.3}},
        "method": METHOD,
    }
    path = tmp_path / "streams.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


@pytest.fixture
def stub(monkeypatch):
    """The model replaced by f(x) + NOISE_SD * (the run stream's first normal); every seed it is
    handed is recorded as (entropy, spawn key)."""
    seeds = []

    def run_replication(settings, seed_seq, index=0, keep_cases=True):
        seeds.append((seed_seq.entropy, tuple(seed_seq.spawn_key)))
        x = settings.loop.discovery.resident_report_per_day
        noise = np.random.default_rng(seed_seq).standard_normal()
        kpis = {"replication": index, "patrol_discovery_share": 0.9 + 0.3 * x + NOISE_SD * noise}
        return types.SimpleNamespace(kpis=kpis, timeseries=None)

    monkeypatch.setattr(runner, "run_replication", run_replication)
    monkeypatch.setattr("sim.calibrate.measures.measure", lambda settings, rep: {})
    return seeds


def _calibrate(tmp_path, out_name):
    cal = observed_file.load(SMALL, _observed(tmp_path))
    return fit.calibrate(cal, tmp_path / out_name, Execution(workers=1, progress=False))


def test_every_run_of_a_calibration_has_its_own_seed_and_the_same_one_when_planned_again(tmp_path, stub):
    """3 waves x 16 points x 2 replications and the check's runs, through the real planning and
    worker code: every seed the model is handed is distinct, and a second calibration of the
    same files (another --out) hands it the very same seeds."""
    result = _calibrate(tmp_path, "a")
    first = list(stub)
    assert len(result.history.runs) == 3 * 16 * 2
    assert len(first) == 3 * 16 * 2 + len(result.predict_runs)
    assert len(set(first)) == len(first), "runs share a random stream"
    stub.clear()
    again = _calibrate(tmp_path, "b")
    assert stub == first
    cols = ["wave", "point", "replication", "patrol_discovery_share"]
    assert again.history.runs[cols].equals(result.history.runs[cols])


def test_a_calibrations_replications_differ_by_independent_noise_across_points(tmp_path, stub):
    """rep0 - rep1 at each of the 48 wave points is the difference of two independent normals:
    about half positive (a sign test), and not one value repeated. On common random numbers every
    difference was the same number."""
    runs = _calibrate(tmp_path, "a").history.runs
    y = runs.pivot_table(index=["wave", "point"], columns="replication", values="patrol_discovery_share")
    diff = (y[0] - y[1]).to_numpy()
    assert len(diff) == 48
    positive = int((diff > 0).sum())
    assert binomtest(positive, len(diff)).pvalue > 1e-3, f"{positive} of 48 differences positive"
    assert len(np.unique(np.round(diff, 12))) == len(diff)
    # the differences' spread is that of two independent runs' noise: sd NOISE_SD * sqrt(2)
    assert 0.7 < np.std(diff, ddof=1) / (NOISE_SD * np.sqrt(2)) < 1.3


def test_a_sweep_keeps_common_random_numbers(tmp_path, stub):
    """A sweep compares points pairwise: replication r of every point gets the same seed, that of
    `streetsim run --seed`'s replication r."""
    plan = experiment.load(write_experiment(tmp_path / "exp.yaml", days=5, replications=3))
    ctx = worker.Context(str(tmp_path), plan.base, str(plan.scenario_file), plan.spec.seed, "all", False)
    runs = plan.runs()
    for run in runs:
        worker.run_one(ctx, run)
    assert len(stub) == len(runs) == len(plan.points) * 3 and len(plan.points) > 1
    by_rep = {}
    for run, seed in zip(runs, stub):
        by_rep.setdefault(run.replication, set()).add(seed)
    assert all(len(s) == 1 for s in by_rep.values())
    cli = [(ss.entropy, tuple(ss.spawn_key)) for ss in runner.replication_seeds(plan.spec.seed, 3)]
    assert [by_rep[r].pop() for r in range(3)] == cli


def test_the_seeding_rule_is_model_code_so_runs_seeded_the_old_way_are_never_reused():
    """A calibration's --out records the model code's fingerprint and refuses to resume under
    other code; the seeding rule lives in fingerprinted files, so a change to it cannot mix
    stored runs of the old seeds with new ones."""
    for f in ("sweep/experiment.py", "sweep/worker.py", "calibrate/simulate.py", "calibrate/history.py", "calibrate/fit.py"):
        assert f not in provenance.PRESENTATION_ONLY and f.split("/")[0] not in provenance.PRESENTATION_ONLY
