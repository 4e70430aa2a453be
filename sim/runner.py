"""Replications, seeds and common random numbers; writing a run's outputs."""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim import metrics, provenance
from sim import scenario as scenario_mod
from sim.processes import alive, interrupts_deferred
from sim.results_folder import RESOLVED_SCENARIO
from sim.street import StreetModel


@dataclass
class Replication:
    index: int
    kpis: dict
    cases: pd.DataFrame | None  # None once a district run has written it and kept its totals
    timeseries: pd.DataFrame
    roles: pd.DataFrame
    case_totals: metrics.CaseTotals | None = None  # what a district's totals need of the cases


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent SeedSequence per replication. The same (seed, index) gives the same
    streams in every scenario, which is what common random numbers need."""
    return np.random.SeedSequence(seed).spawn(replications)


def run_replication(settings, seed_seq, index: int = 0, keep_cases: bool = True) -> Replication:
    """Build the street, run it over the horizon, and measure it."""
    model = StreetModel(settings, seed_seq)
    with few_collections():
        model.run()
    cases = metrics.case_table(model)
    roles = metrics.roles_table(model)
    kpis = {"replication": index, **metrics.kpis(model, cases, roles)}
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    for table in (ts, cases, roles):
        table.insert(0, "replication", index)
    return Replication(index, kpis, cases if keep_cases else cases.iloc[0:0], ts, roles)


# Collector thresholds while a street runs. The run keeps many objects alive (agents, open
# cases, the records of closed ones until they are packed) and makes almost no cyclic garbage,
# so Python's default (a collection every 700 allocations, a full one as the heap
# grows by a quarter) spends its time re-scanning live cases: 40% of CPU at 1M residents (issue
# 9's profile). With these, CPU per case fell 15-23% at 78k-300k residents, same peak memory.
RUN_GC_THRESHOLD = (50_000, 20, 1_000)
_runs_ended = 0  # runs this process has finished: each may have left a street to collect


@contextlib.contextmanager
def few_collections():
    """Freeze what exists (imports, the built street) out of the collector's sight and collect
    rarely while the model runs; restore both afterwards, so cycles left by the run are freed.

    Earlier runs' streets are collected first: a street is a web of cycles (agents and model,
    workers and their lines), and freezing it with the rest would keep it until a full
    collection happened to fall between two runs — a process running street after street (a
    city, a sweep) grew by a street's memory each run."""
    global _runs_ended
    before = gc.get_threshold()
    if _runs_ended:  # a fresh process has no street to free: a full collection would cost ~30 ms for nothing
        gc.collect()
    gc.freeze()
    gc.set_threshold(*RUN_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        _runs_ended += 1


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def keep_whole(_i: int, result):
    """``keep`` for run_many when the caller wants every result whole."""
    return result


def run_many(jobs: list[tuple], workers: int, progress: bool, label: str, keep=None) -> list:
    """Run ``(settings, seed_seq, index)`` jobs, in worker processes when ``workers > 1``.

    Results come back in job order, so the output does not depend on the number of workers.
    ``keep(i, result)``, if given, is called on each job's result as it is taken and what it
    returns is kept instead: a caller that needs only part of each result (a city's streets)
    never holds them all at once.
    """
    keep = keep or keep_whole
    bar = tqdm(total=len(jobs), desc=label, unit="run", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1 or len(jobs) <= 1:
            results = []
            for i, job in enumerate(jobs):
                results.append(keep(i, run_replication(*job)))
                bar.update(1)
            return results
        # spawn, not fork: tqdm's monitor thread and any BLAS threads do not survive a fork.
        ctx = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx, initializer=worker_setup,
                                   initargs=(os.getpid(),))
        try:
            with interrupts_deferred():  # submit starts the workers
                futures = [pool.submit(run_replication, *job) for job in jobs]
            for f in futures:
                f.add_done_callback(lambda _f: bar.update(1))
            results = []
            for i, f in enumerate(futures):
                results.append(keep(i, f.result()))
                futures[i] = None  # the whole result goes with its future
        except BaseException:  # Ctrl-C, SIGTERM, a failed run: do not wait for the other runs
            stop_pool(pool)
            raise
        pool.shutdown(wait=True)
        return results
    finally:
        bar.close()


def worker_setup(main_pid: int) -> None:
    """In each worker process: Ctrl-C in a terminal reaches the whole process group, but the
    main process decides what stops; and a worker whose main process is gone (killed) ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        # Polling the main process, not prctl(PR_SET_PDEATHSIG): that fires when the parent
        # *thread* that started the worker ends, and a forkserver's workers are not the main
        # process's children. The main process may also have died before this worker started.
        while alive(main_pid):
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="main-process-watch", daemon=True).start()


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now (queued jobs dropped, running ones killed) and reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(5)
        if p.is_alive():
            p.kill()


def run_replications(settings, replications: int, seed: int, progress: bool = True, workers: int = 1,
                     label: str = "") -> list[Replication]:
    jobs = [(settings, ss, i) for i, ss in enumerate(replication_seeds(seed, replications))]
    return run_many(jobs, workers, progress, label or settings.name)


def write_tables(folder: Path, settings, results: list[Replication]) -> pd.DataFrame:
    """summary.csv, cases.parquet, timeseries.parquet, roles.csv and the resolved scenario."""
    folder.mkdir(parents=True, exist_ok=True)
    summary = pd.DataFrame([r.kpis for r in results])
    summary.to_csv(folder / "summary.csv", index=False, float_format="%.10g")
    pd.concat([r.cases for r in results], ignore_index=True).to_parquet(folder / "cases.parquet", index=False)
    pd.concat([r.timeseries for r in results], ignore_index=True).to_parquet(folder / "timeseries.parquet", index=False)
    pd.concat([r.roles for r in results], ignore_index=True).to_csv(folder / "roles.csv", index=False, float_format="%.10g")
    (folder / RESOLVED_SCENARIO).write_text(scenario_mod.dump(settings), encoding="utf-8")
    return summary


def write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def manifest(kind: str, command: list[str], seed: int, replications: int, scenarios: list[str],
             scenario_notes: list[dict]) -> dict:
    """What a results folder was made from; ``scenario_notes``: sim.notes.recorded_from of the
    files the command read, as it read them (the report's annex lists them as run)."""
    return {
        "kind": kind,
        "streetsim_version": sim.__version__,
        "command": command,
        "seed": seed,
        "replications": replications,
        "scenarios": scenarios,
        "scenario_notes": scenario_notes,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": provenance.python_version(),
    }
