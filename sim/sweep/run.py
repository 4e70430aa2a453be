"""Running a sweep: prepare the store, skip finished runs, hand the rest to an executor."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

import sim
from sim import provenance, results_folder
from sim.scenario import CommandFailed, ScenarioError, printable
from sim.sweep import executors, store, worker
from sim.sweep.experiment import Plan, Run, describe

MAX_POOL_RESTARTS = 5


class RunsLost(CommandFailed):
    """The executor gave up on some runs (their worker died again and again, or could not store
    them). They are not stored, the others are; the same command runs them again. Not bad input:
    every command running a sweep ends with this one line and exit 1 (a SLURM task ends FAILED)."""

    def __init__(self, executor: str, n: int, why: str):
        why = why.split(". ")[0][:200]  # Dask's KilledWorker message goes on for lines
        super().__init__(f"--executor {executor}: {n} runs not stored: {why}; the others are stored: run the "
                         "same command again to run these")  # fmt: skip


class RunsFailed(CommandFailed):
    """Simulation runs a command needs ended in an error (stored as failed, with the error). The
    command ends with one line and exit 1; the same command runs them again (staff and calibrate
    retry runs stored as failed)."""

    @classmethod
    def stored(cls, store_dir: Path, table: pd.DataFrame) -> RunsFailed:
        failed = table[table["status"] == "failed"]
        first = failed.iloc[0]
        error = str(first.get("error") or "unknown error").strip().splitlines()[-1][:300]
        return cls(f"{len(failed)} of {len(table)} simulation runs failed, e.g. {first['run_id']}: {error} "
                   f"(stored with their errors in {store_dir}/; the same command runs them again)")  # fmt: skip


@dataclass
class Outcome:
    """What a call to run_sweep did."""

    total: int  # runs in this sweep (or shard)
    skipped: int  # already stored before this call
    ran: int
    failed: int
    seconds: float  # wall time of the executor phase
    run_seconds: float  # time spent inside the model, summed over runs
    stored_failed: int = 0  # runs of this sweep (or shard) stored as failed, now or before


def shard_runs(runs: list[Run], shard: tuple[int, int] | None) -> list[Run]:
    """Round-robin over the full run list: depends on the design only, so shards never overlap
    and together cover every run, whatever is already stored."""
    if shard is None:
        return runs
    i, n = shard
    return runs[i - 1 :: n]


def chunk(runs: list[Run], workers: int, size: int | None) -> list[list[Run]]:
    """Several runs per task keeps scheduling overhead small; ~8 tasks per worker keeps the
    tail short when runs differ in length."""
    if not runs:
        return []
    size = size or max(1, min(25, math.ceil(len(runs) / (workers * 8))))
    return [runs[k : k + size] for k in range(0, len(runs), size)]


def manifest(plan: Plan) -> dict:
    return {
        "kind": "sweep",
        "experiment": plan.name,
        "description": plan.spec.description,
        "experiment_file": str(plan.file),
        "experiment_text": plan.text,
        "scenario_file": str(plan.scenario_file),
        "fixed_overrides": plan.spec.set,
        "design": describe(plan),
        "replications": plan.spec.replications,
        "seed": plan.spec.seed,
        "seeding": plan.seeding(),
        "kpis": plan.spec.kpis,
        "timeseries": plan.spec.timeseries,
        "streetsim_version": sim.__version__,
        "git_commit": _git_commit(),
        "python": provenance.python_version(),
    }


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                              cwd=Path(__file__).parent)  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5, cwd=Path(__file__).parent)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


@contextlib.contextmanager
def sweep_lock(out: Path, shard: tuple[int, int] | None):
    """One sweep at a time per folder, so no two processes compute the same run and none is
    stored twice. Shards of one array share the folder (they split the runs between them); a
    shard already running (a task resubmitted while it still runs), shards of another count
    (``--shard 1/3`` while ``--shard 1/2`` runs: their runs overlap) and anything else are refused
    with one line, not waited for. Once an array has ended another shard count may take over:
    finished runs are skipped. ``.lock`` names who holds the folder, ``.locks/shard-I`` who runs
    shard I; taking them is serialised by ``.lock-guard``."""
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as held:
        try:
            with _guard(out):
                _take_folder(held.enter_context(open(out / store.LOCK, "a+")), out, shard)
                if shard:
                    (out / store.SHARD_LOCKS).mkdir(exist_ok=True)
                    _take_shard(held.enter_context(open(out / store.SHARD_LOCKS / f"shard-{shard[0]}", "a+")), shard)
        except ScenarioError:
            raise
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise ScenarioError("--out", "", f"cannot lock {out}: {e.strerror or e}") from None
            # a file system without locks (some NFS setups): carry on; reads de-duplicate
        yield


@contextlib.contextmanager
def _guard(out: Path):
    """Held for milliseconds while a sweep looks at the locks and takes them, so that two shards
    of different counts cannot both find the folder free."""
    with open(out / f"{store.LOCK}-guard", "a") as g:
        fcntl.flock(g, fcntl.LOCK_EX)
        yield


def _holder(f) -> str:
    f.seek(0)
    return f.read().strip() or "another process"


def _claim(f, text: str) -> None:
    f.seek(0)
    f.truncate(0)
    f.write(f"{text}pid {os.getpid()} on {os.uname().nodename}\n")
    f.flush()


def _take_folder(f, out: Path, shard: tuple[int, int] | None) -> None:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(f)
        if shard and holder.startswith(f"shards {shard[1]}:"):
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)  # held by shards only (shared), so free
            return
        if shard and holder.startswith("shards "):
            count = holder.split()[1].rstrip(":")
            raise ScenarioError("--shard", "", f"{shard[0]}/{shard[1]}: {out} is being swept in {count} shards "
                                f"({holder}), whose runs overlap this shard's; use --shard I/{count} (one count for "
                                "every submission of a sweep) or wait until they end") from None  # fmt: skip
        raise ScenarioError("--out", "", f"{out} is in use by another sweep ({holder}); wait for it to end or "
                            "choose another --out") from None  # fmt: skip
    _claim(f, f"shards {shard[1]}: first taken by shard {shard[0]}/{shard[1]}, " if shard else "")
    if shard:
        fcntl.flock(f, fcntl.LOCK_SH)  # let the array's other shards in (safe: under the guard)


def _take_shard(f, shard: tuple[int, int]) -> None:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ScenarioError("--shard", "", f"{shard[0]}/{shard[1]} is already running ({_holder(f)}); wait for it to "
                            "end (its finished runs are then skipped)") from None  # fmt: skip
    _claim(f, "")


def prepare(plan: Plan, out: Path, say_replaced: bool = True) -> None:
    """Write manifest.json and design.parquet unless the folder already holds this design, both
    readable. Shards may race here; both writes are atomic and carry the same design.
    ``say_replaced``: one line when another design is replaced (_say_replaced)."""
    new = manifest(plan)
    old = _stored_manifest(out)
    if old is not None and old.get("kind") != "sweep":
        raise ScenarioError(out, "", "holds results that are not a sweep's; choose another --out")
    keys = ("design", "replications", "seed", "kpis", "timeseries", "streetsim_version")
    changed = [k for k in keys if old is not None and _compared(k, old.get(k)) != _compared(k, new[k])]
    if old is not None and not changed and _design_intact(out, plan):
        return
    if changed and say_replaced:
        _say_replaced(out, old, changed, plan)
    new["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    store.write_design(out, plan.design_table())
    store.write_manifest(out, new)


def _compared(key: str, value):
    """What tells two designs apart: not the skipped points they list, which follow from the
    design and the scenario (a changed scenario changes every run_id, which _design_intact sees).
    A folder made before the manifest listed at most experiment.LISTED_SKIPS of them and counted
    them all would otherwise be taken for another design, its manifest rewritten."""
    if key == "design" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ("skipped_points", "skipped_count")}
    return value


def _say_replaced(out: Path, old: dict, changed: list[str], plan: Plan) -> None:
    """One line when the folder holds another version of the experiment (its file edited, or
    another file): its design is replaced, the stored runs the two share are reused."""
    stored = store.finished(out)
    shared = len(set(stored) & set(plan.design_table()["run_id"]))
    print(printable(f"warning: {out} held a sweep of {old.get('experiment')!r} made {old.get('created', '?')} with "
                    f"another {', '.join(changed)}: its design is replaced by {plan.name!r}'s; {shared:,} of its "
                    f"{len(stored):,} stored runs are reused, the others stay in the store, unread"),
          file=sys.stderr)  # fmt: skip


def _stored_manifest(out: Path) -> dict | None:
    """The folder's manifest; None if there is none, or (said in one line) if it is damaged."""
    if not (out / store.MANIFEST).exists():
        return None
    try:
        return store.read_manifest(out)
    except (ValueError, OSError) as e:
        print(printable(f"warning: damaged {out / store.MANIFEST} ({str(e).splitlines()[0][:120]}): rewritten "
                        "from the experiment file"), file=sys.stderr)  # fmt: skip
        return None


def _design_intact(out: Path, plan: Plan) -> bool:
    """design.parquet is readable and is this plan's design (one line if it is damaged)."""
    try:
        stored = store.read_design(out)
    except FileNotFoundError:
        return False
    except store.Damaged as e:
        print(printable(f"warning: damaged {e.file} ({e.reason}): rewritten from the experiment file"), file=sys.stderr)
        return False
    try:  # values, not dtypes: Parquet may give back a string column with another dtype
        pd.testing.assert_frame_equal(stored, plan.design_table(), check_dtype=False)
    except AssertionError:
        print(f"warning: damaged {out / store.DESIGN} (not the design its manifest names): rewritten from the "
              "experiment file", file=sys.stderr)  # fmt: skip
        return False
    return True


def run_sweep(
    plan: Plan,
    out: Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    shard: tuple[int, int] | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    batches: bool = False,
) -> Outcome:
    """Run every run of ``plan`` not yet stored in ``out``. Safe to interrupt and call again.
    ``batches``: the caller runs one search batch by batch into ``out`` (staff, calibrate), each
    batch's design replacing the last as meant, so that is not said."""
    out = Path(out).resolve()
    workers = workers or default_workers(executor)
    executors.warm_up(executor, workers)
    with sweep_lock(out, shard):
        return _run_locked(plan, out, executor, workers, scheduler, shard, progress, retry_failed, chunk_size, batches)


def _run_locked(plan, out, executor, workers, scheduler, shard, progress, retry_failed, chunk_size, batches) -> Outcome:
    prepare(plan, out, say_replaced=not batches)
    results_folder.remove_dead_writers_files(out)
    runs = shard_runs(plan.runs(), shard)
    done = store.finished(out)
    if retry_failed:
        failed_ids = {r.run_id for r in runs if done.get(r.run_id) == "failed"}
        store.drop_failed(out, failed_ids)
        done = {k: v for k, v in done.items() if k not in failed_ids}
    total, skipped = len(runs), sum(1 for r in runs if r.run_id in done)
    ctx = worker.Context(str(out), plan.base, str(plan.scenario_file), plan.spec.seed, plan.spec.kpis, plan.spec.timeseries,
                         plan.measures)  # fmt: skip
    ex = make_executor(executor, workers, scheduler, plan)
    where = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    _say(progress, f"{plan.name}{where}: {total} runs ({len(plan.points)} points x {plan.spec.replications} replications), "
         f"{skipped} already stored; executor {ex.name}, {workers} workers -> {out}")  # fmt: skip
    bar = tqdm(total=total, initial=skipped, desc=plan.name, unit="run", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)  # fmt: skip
    tally = {"ran": 0, "failed": 0, "seconds": 0.0}

    def on_result(res: worker.ChunkResult) -> None:
        tally["ran"] += len(res.run_ids)
        tally["failed"] += res.failed
        tally["seconds"] += res.seconds
        bar.set_postfix(failed=tally["failed"], refresh=False)
        bar.update(len(res.run_ids))

    lost: dict[str, str] = {}  # run_id -> why: chunks the executor gave up on

    def on_error(chunk_runs: list[Run], error: str) -> None:
        # Not stored as failed runs: the model did not fail, its worker died (or could not
        # write). Left unstored, so the same command runs them again.
        lost.update((r.run_id, error) for r in chunk_runs)

    t0 = time.perf_counter()
    try:
        for attempt in range(MAX_POOL_RESTARTS + 1):
            todo = [r for r in runs if r.run_id not in done]
            try:
                if isinstance(ex, executors.DaskExecutor):
                    ex.run(ctx, chunk(todo, workers, chunk_size or plan.spec.chunk_size), on_result, on_error)
                else:
                    ex.run(ctx, chunk(todo, workers, chunk_size or plan.spec.chunk_size), on_result)
                break
            except executors.WorkerLost as e:
                if attempt == MAX_POOL_RESTARTS:
                    done = store.finished(out)
                    lost.update((r.run_id, f"worker processes died {attempt + 1} times ({e})") for r in runs
                                if r.run_id not in done)  # fmt: skip
                    break
                # The store, not the parent's tally, says what is finished: a worker may have
                # stored its chunk just before the pool broke.
                done = store.finished(out)
                bar.n = sum(1 for r in runs if r.run_id in done)
                bar.refresh()
                tqdm.write("a worker process died; restarting the pool for the runs not yet stored", file=sys.stderr)
    finally:
        bar.close()
    elapsed = time.perf_counter() - t0
    done = store.finished(out)
    missing = [rid for rid in lost if rid not in done]  # a retry may have stored one after all
    if missing:
        raise RunsLost(ex.name, len(missing), lost[missing[0]])
    stored_failed = sum(1 for r in runs if done.get(r.run_id) == "failed")
    return Outcome(total, skipped, tally["ran"], tally["failed"], elapsed, tally["seconds"], stored_failed)


def default_workers(executor: str) -> int:
    if executor == "slurm-array":
        return slurm_cpus_per_task()
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def slurm_cpus_per_task() -> int:
    """SLURM's CPUs for this task (1 when it sets none), refused in one line when it is not a
    whole number >= 1 or more processes than this machine takes (a job script may set it by hand)."""
    from sim.cli import check_local_workers

    text = os.environ.get("SLURM_CPUS_PER_TASK", "1").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 9 and int(text) >= 1):
        raise ScenarioError("SLURM_CPUS_PER_TASK", "", f"{printable(text[:40])!r} is not a whole number of CPUs >= 1")
    try:
        check_local_workers(int(text))
    except ScenarioError as e:
        raise ScenarioError("SLURM_CPUS_PER_TASK", "", e.message) from None
    return int(text)


def make_executor(kind: str, workers: int, scheduler: str | None, plan: Plan):
    if kind == "dask":
        return executors.DaskExecutor(workers, scheduler, plan.spec.dask_jobqueue)
    if kind in ("local", "slurm-array"):
        return executors.LocalExecutor(workers)
    raise ScenarioError("--executor", "", f"unknown executor {kind!r}; use local, dask or slurm-array")


def _say(progress: bool, text: str) -> None:
    if progress:
        print(text, file=sys.stderr)
