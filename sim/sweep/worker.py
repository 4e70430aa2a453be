"""What runs on a worker: a chunk of runs, then one part file. The same code on every executor."""

from __future__ import annotations

import hashlib
import importlib
import os
import socket
import time
import traceback
from dataclasses import dataclass

import pandas as pd

from sim import runner
from sim import scenario as scenario_mod
from sim.sweep import store
from sim.sweep.experiment import Run, seed_sequence


@dataclass
class Context:
    """What every chunk of one sweep shares; sent once per worker process where possible."""

    out: str  # absolute: Dask workers and array tasks may start elsewhere
    base: dict
    scenario_file: str
    seed: int
    kpis: list[str] | str
    timeseries: bool | list[str]
    # "module:function" adding quantities computed from the whole replication (cases, roles) to
    # each run's row; calibration uses it (sim.calibrate.measures:measure). None: KPIs only.
    measures: str | None = None


@dataclass
class ChunkResult:
    part: str
    run_ids: list[str]
    ok: int
    failed: int
    seconds: float  # time spent inside run_replication, summed


def part_name(runs: list[Run]) -> str:
    """Named after its runs: a chunk run twice (a task retried after its worker died) replaces
    its own file instead of adding a second copy."""
    return "part-" + hashlib.sha256(",".join(sorted(r.run_id for r in runs)).encode()).hexdigest()[:20]


class OutputNotVisible(RuntimeError):
    """This worker cannot see the sweep's folder: results need a file system every worker shares."""


def run_chunk(ctx: Context, runs: list[Run]) -> ChunkResult:
    """Run every run of the chunk; a run that raises is recorded with its error and the chunk goes on."""
    if not os.path.exists(os.path.join(ctx.out, store.MANIFEST)):  # checked before any run: minutes saved
        raise OutputNotVisible(f"worker {socket.gethostname()} cannot see the output folder {ctx.out}; every "
                               "worker must see it at the same path (a shared file system, see README)")  # fmt: skip
    rows, series = [], []
    worker = f"{socket.gethostname()}:{os.getpid()}"
    for run in runs:
        row, ts = run_one(ctx, run)
        row.update(worker=worker, worker_pid=os.getpid())
        rows.append(row)
        if ts is not None:
            series.append(ts)
    table = pd.DataFrame(rows)
    name = part_name(runs)
    store.write_part(ctx.out, name, table, pd.concat(series, ignore_index=True) if series else None)
    ok = int((table["status"] == "ok").sum())
    return ChunkResult(name, [r.run_id for r in runs], ok, len(runs) - ok, float(table["seconds"].sum()))


def run_one(ctx: Context, run: Run) -> tuple[dict, pd.DataFrame | None]:
    head = {"run_id": run.run_id, "point": run.point, "replication": run.replication}
    t0 = time.perf_counter()
    try:
        settings = scenario_mod.build(
            scenario_mod.apply_overrides(ctx.base, run.overrides, ctx.scenario_file), ctx.scenario_file
        )
        rep = runner.run_replication(settings, seed_sequence(ctx.seed, run.replication, run.stream), run.replication,
                                     keep_cases=ctx.measures is not None)  # fmt: skip
        kpis = {k: v for k, v in rep.kpis.items() if k != "replication"}
        if ctx.kpis != "all":
            missing = [k for k in ctx.kpis if k not in kpis]
            if missing:
                raise KeyError(f"the model produced no KPI {', '.join(missing)}")
            kpis = {k: kpis[k] for k in ctx.kpis}
        if ctx.measures:
            kpis.update(_measures(ctx.measures)(settings, rep))
        ts = _series(ctx, run, rep.timeseries)
        row = {**head, "status": "ok", "error": None, "seconds": time.perf_counter() - t0, **kpis}
        return row, ts
    except Exception as e:  # recorded, not raised: one bad run must not stop a sweep of thousands
        row = {**head, "status": "failed", "error": describe_error(e), "seconds": time.perf_counter() - t0}
        if ctx.kpis != "all":
            row.update(dict.fromkeys(ctx.kpis, float("nan")))
        return row, None


def describe_error(e: BaseException) -> str:
    """One line for a failed run: the exception and the file and line that raised it."""
    last = traceback.extract_tb(e.__traceback__)[-1:]
    where = f" ({last[0].filename.rsplit('/', 1)[-1]}:{last[0].lineno})" if last else ""
    return f"{type(e).__name__}: {e}{where}"


def _measures(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _series(ctx: Context, run: Run, ts: pd.DataFrame) -> pd.DataFrame | None:
    if not ctx.timeseries:
        return None
    ts = ts.drop(columns=["replication"])
    if isinstance(ctx.timeseries, list):
        ts = ts[["day", *ctx.timeseries]]
    ts.insert(0, "run_id", run.run_id)
    return ts
