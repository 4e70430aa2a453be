"""Calibration runs go through the sweep machinery: each batch of parameter points becomes a sweep
Plan (run_ids from the resolved scenario, seeds from seed_sequence), is run by the chosen executor
(local processes, Dask, one SLURM array shard) into its own Parquet store, and is skipped run by
run when the command is repeated.

Unlike a sweep's, the runs are not on common random numbers: every run of a calibration has its
own streams, keyed by the batch (wave K is batch K, the final check batch 0), the point and the
replication. The emulators take each run's noise as independent of every other run's; with
replication r on one stream at every point (as until 2026-12-03), the replications' shared
noise moved the emulator's mean by an offset its variance left out, one that more points or
waves never shrink. The check's runs (batch 0) are a posterior predictive, draws of the
parameters each with its own noise, so they are independent too. Calibration compares no two
points pairwise, so common random numbers bought it nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibrate.measures import MEASURES_PATH
from sim.calibrate.observed import Calibration
from sim.calibrate.space import Space
from sim.sweep import experiment, store
from sim.sweep.run import RunsFailed, run_sweep
from sim.sweep.shards import Pending, wait_for_other_shards


@dataclass
class Execution:
    """Where and how runs go (the sweep command's options)."""

    executor: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    shard: tuple[int, int] | None = None
    shard_wait: float = 0.0  # slurm-array: seconds to wait for the other shards' runs of a batch
    progress: bool = True


@dataclass
class Batch:
    runs: pd.DataFrame  # one row per finished run: point, replication, parameters, quantities
    ran: int
    stored: int  # already stored before this call
    failed: int
    complete: bool  # False when other SLURM array shards still have runs of this batch to do


def run_batch(cal: Calibration, space: Space, values: np.ndarray, folder: Path, name: str,
              replications: int, seed: int, how: Execution, batch: int) -> Batch:  # fmt: skip
    """Run ``replications`` of every row of ``values`` (scenario values, one column per parameter),
    each run on its own streams: spawn key (``batch``, point, replication) under ``seed``."""
    plan = _plan(cal, space, values, name, replications, seed, batch)
    # retry_failed: a run that failed before (a crash, a full disk) is run again on resume
    res = run_sweep(plan, folder, how.executor, how.workers, how.scheduler, how.shard, progress=how.progress,
                    retry_failed=True, batches=True)  # fmt: skip
    if how.shard is not None:  # the next batch needs every run of this one
        wait_for_other_shards(folder, {r.run_id for r in plan.runs()}, how.shard_wait, name)
    table = store.read_results(folder)
    complete = not (table["status"] == "pending").any()
    if not complete:
        raise Pending(f"{name}: {int((table['status'] == 'pending').sum())} runs still to do by other shards")
    ok = table[table["status"] == "ok"].reset_index(drop=True)
    if ok.empty:  # nothing to fit; a few failed runs leave the others to fit on (counted in waves.csv)
        raise RunsFailed.stored(folder, table)
    return Batch(ok, res.ran, res.skipped, int((table["status"] == "failed").sum()), complete)


def _plan(cal: Calibration, space: Space, values: np.ndarray, name: str, replications: int, seed: int, batch: int):
    params = space.names
    spec = experiment.Experiment(
        experiment=name,
        description=f"calibration {cal.spec.calibration}: {name}",
        scenario=os.path.relpath(cal.scenario_file.resolve(), cal.file.resolve().parent),
        set=cal.sets,
        parameters={p: experiment.Parameter(min=space.ranges[p].min, max=space.ranges[p].max) for p in params},
        design=experiment.Design(type="lhs", samples=len(values), seed=seed),
        replications=replications,
        seed=seed,
    )
    cols = {f"p{j}": [_native(v, space.integer[p]) for v in values[:, j]] for j, p in enumerate(params)}
    points = pd.DataFrame({"point": np.arange(len(values)), **cols})
    roles = list(cal.base.get("staffing", {}))
    plan = experiment.Plan(spec, cal.file, cal.text, cal.scenario_file, cal.base, params, dict(space.integer),
                           points, None, None, roles=roles, measures=MEASURES_PATH, streams=(batch,))  # fmt: skip
    experiment.check_points(plan)
    return plan


def _native(v, integer: bool):
    return int(round(float(v))) if integer else float(v)
