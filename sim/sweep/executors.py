"""Executors: where chunks of runs go. One interface, ``run(ctx, chunks, on_result)``:

* ``local`` — a process pool on this machine (the default; ``slurm-array`` uses it inside a task);
* ``dask`` — a Dask LocalCluster, an existing scheduler (``--scheduler``), or a dask-jobqueue
  cluster described in the experiment file.

Each finished chunk is passed to ``on_result`` as a ChunkResult; the rows themselves stay in the
part file the worker wrote, so the caller's memory does not grow with the number of runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from sim import processes, runner
from sim.scenario import ScenarioError
from sim.sweep import worker
from sim.sweep.experiment import Run

OnResult = Callable[[worker.ChunkResult], None]


class WorkerLost(RuntimeError):
    """A worker process died (killed, out of memory); the caller restarts with what is left."""


class LocalExecutor:
    """Processes on this machine. Not Mesa's batch_run: it forces the spawn start method and
    holds every result in memory. Workers are forked from a process that has already imported
    the model, so each starts in milliseconds instead of re-importing Mesa, pandas and SciPy."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, ctx: worker.Context, chunks: list[list[Run]], on_result: OnResult) -> None:
        if self.workers == 1:
            for c in chunks:  # no pool: nothing to start, Ctrl-C stops at once
                on_result(worker.run_chunk(ctx, c))
            return
        pool = _pool(self.workers, ctx)
        try:
            with processes.interrupts_deferred():  # submit starts the workers
                futures = [pool.submit(_run_chunk_in_worker, c) for c in chunks]
            for f in as_completed(futures):
                on_result(f.result())
        except BrokenProcessPool as e:
            pool.shutdown(wait=True, cancel_futures=True)
            raise WorkerLost(str(e)) from None
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)


def _pool(workers: int, ctx: worker.Context) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=_start_method(), initializer=_init_worker, initargs=(ctx, os.getpid()))


def _start_method():
    """A forkserver that imports the model once (~2 s), then forks each worker in milliseconds.
    Not plain fork: by then this process runs OpenBLAS and Arrow threads, and forking a
    multi-threaded process can deadlock the child. Spawn where there is no forkserver."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["sim.sweep.worker"])
    return mp


def warm_up(executor: str, workers: int) -> None:
    """Start the forkserver's import now, so it overlaps with loading the store."""
    if executor in ("local", "slurm-array") and workers > 1 and "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        _start_method()
        forkserver.ensure_running()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Interrupted: drop queued chunks and end the workers now. A chunk cut short never reached
    os.replace, so it leaves no part file and is run again next time."""
    runner.stop_pool(pool)


_CTX: worker.Context | None = None


def _init_worker(ctx: worker.Context, main_pid: int) -> None:
    global _CTX
    _CTX = ctx
    runner.worker_setup(main_pid)  # SIGINT ignored (the parent decides), and ends if the parent dies


def _run_chunk_in_worker(runs: list[Run]) -> worker.ChunkResult:
    return worker.run_chunk(_CTX, runs)


class DaskExecutor:
    """Dask: ``scheduler`` address, else a dask-jobqueue cluster from the experiment file, else a
    LocalCluster with ``workers`` single-threaded worker processes. Dask reruns a task whose
    worker died; a chunk that fails even so (KilledWorker) goes to ``on_error`` and the sweep
    goes on."""

    name = "dask"

    def __init__(self, workers: int, scheduler: str | None = None, jobqueue=None):
        self.workers, self.scheduler, self.jobqueue = workers, scheduler, jobqueue

    def run(self, ctx: worker.Context, chunks: list[list[Run]], on_result: OnResult, on_error=None) -> None:
        from dask.distributed import as_completed as dask_as_completed

        client, cluster = self._connect()
        futures = {}
        try:
            for c in chunks:
                key = f"streetsim-{worker.part_name(c)}"
                futures[client.submit(worker.run_chunk, ctx, c, key=key, pure=False, retries=1)] = c
            for f in dask_as_completed(list(futures)):
                runs = futures.pop(f)
                try:
                    on_result(f.result())
                except worker.OutputNotVisible as e:
                    raise ScenarioError("--scheduler", "", str(e)) from None
                except Exception as e:  # KilledWorker and the like: report, go on
                    if on_error is None:
                        raise
                    on_error(runs, f"{type(e).__name__}: {e}")
                f.release()
        except BaseException:
            client.cancel(list(futures))
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _connect(self):
        from dask.distributed import Client, LocalCluster

        if self.scheduler:
            return Client(self.scheduler), None
        if self.jobqueue is not None:
            import dask_jobqueue

            cls = getattr(dask_jobqueue, _JOBQUEUE_CLASSES[self.jobqueue.cluster])
            cluster = cls(**self.jobqueue.options)
            # A failed submission in scale()'s background callback is logged by tornado as a
            # traceback; _submitted_or_raise reports it in one line instead.
            quiet = logging.getLogger("tornado.application")
            level, quiet.level = quiet.level, logging.CRITICAL
            try:
                cluster.scale(jobs=self.jobqueue.jobs)
                _submitted_or_raise(cluster, self.jobqueue.cluster)
            finally:
                quiet.setLevel(level)
            return Client(cluster), cluster
        cluster = LocalCluster(
            n_workers=self.workers, threads_per_worker=1, processes=True,
            # CRITICAL, not ERROR: what goes wrong (a task given up on) reaches the sweep through
            # its future and is said in one line; Dask's own log line would be a second one
            dashboard_address=None, silence_logs=logging.CRITICAL,
            # no dashboard, but the scheduler's HTTP server still listens: on a free local port,
            # not 8787, which another Dask on the machine may hold (a warning on every sweep)
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )  # fmt: skip
        return Client(cluster), cluster


def _submitted_or_raise(cluster, kind: str) -> None:
    """Submit the worker jobs now and wait for the submission (not for the jobs to start). A
    failing sbatch/qsub otherwise only logs an error in the background while the sweep waits
    for workers that will never come; here it ends the sweep with one line."""
    try:
        cluster.sync(cluster._correct_state)  # what scale() schedules; raises the submit error
        for job in list(cluster.workers.values()):
            if getattr(job, "job_id", True) is None:  # its submission failed in scale()'s callback
                cluster.sync(job.start)  # again, to raise the error (or submit it after all)
    except Exception as e:
        for name, job in list(cluster.workers.items()):
            if getattr(job, "job_id", True) is None:  # never submitted: nothing to cancel
                cluster.workers.pop(name)
                cluster.worker_spec.pop(name, None)
        try:
            cluster.close()
        except Exception:  # closing a half-started cluster; the submit error is what matters
            pass
        lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
        why = next((ln for ln in reversed(lines) if "error" in ln.lower()), lines[-1] if lines else type(e).__name__)
        raise ScenarioError("dask_jobqueue", "", f"{kind}: submitting the worker jobs failed: {why[:200]}") from None


_JOBQUEUE_CLASSES = {
    "slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster",
    "htcondor": "HTCondorCluster", "oar": "OARCluster", "moab": "MoabCluster",
}  # fmt: skip
