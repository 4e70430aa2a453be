"""``streetsim sweep`` and ``streetsim sweep-results``. Heavy imports stay inside the handlers."""

from __future__ import annotations

from pathlib import Path

from sim.cli import check_local_workers, given_file, given_path, positive_int
from sim.labels import LANGS
from sim.scenario import Interrupted, ScenarioError

EXECUTORS = ("local", "dask", "slurm-array")


def add_executor_arguments(p, batches: bool = False) -> None:
    """--executor, --workers, --scheduler and --shard, as sweep, calibrate and staff take them
    (checked together by ``executor_shard``). ``batches``: the command runs its
    design batch by batch (calibrate, staff), so a shard waits for the others between batches."""
    p.add_argument("--executor", choices=EXECUTORS, default="local",
                   help="local processes (default), Dask, or one SLURM array task (--shard)")  # fmt: skip
    p.add_argument("--workers", "-j", type=positive_int, default=None,
                   help="worker processes (default: CPUs available; slurm-array: $SLURM_CPUS_PER_TASK or 1)")  # fmt: skip
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="dask: an existing scheduler, e.g. tcp://HOST:8786")
    if not batches:
        p.add_argument("--shard", default=None, metavar="I/N", help="slurm-array: run shard I of N (1-based)")
        return
    p.add_argument("--shard", default=None, metavar="I/N",
                   help="slurm-array: run shard I of N of every batch, waiting for the other shards between batches")  # fmt: skip
    p.add_argument("--shard-wait", type=positive_int, default=1800, metavar="SECONDS",
                   help="slurm-array: how long a shard waits for the others' runs of a batch before it stops (default 1800)")  # fmt: skip


def parse_shard(text: str | None, file="--shard") -> tuple[int, int] | None:
    """``"3/40"`` -> (3, 40); shards count from 1, as SLURM array indices usually do."""
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ScenarioError(file, "", f"expected I/N such as 3/40, got {text!r}") from None
    if not 1 <= i <= n:
        raise ScenarioError(file, "", f"shard {i}/{n}: I must be between 1 and N")
    return i, n


def executor_shard(executor: str, shard_text: str | None, scheduler: str | None,
                   workers: int | None = None) -> tuple[int, int] | None:
    """Check --executor, --shard, --scheduler and --workers go together (sweep, calibrate, staff);
    the shard."""
    if executor != "dask":  # local processes (a SLURM task's on its node); Dask's run elsewhere
        check_local_workers(workers)
    shard = parse_shard(shard_text)
    if executor == "slurm-array" and shard is None:
        raise ScenarioError("--shard", "", "slurm-array runs one shard: give --shard I/N (e.g. $SLURM_ARRAY_TASK_ID/N)")
    if executor == "slurm-array" and workers is None:
        from sim.sweep.run import slurm_cpus_per_task

        slurm_cpus_per_task()  # checked before anything is written; run_sweep reads it again
    if shard is not None and executor != "slurm-array":
        raise ScenarioError("--shard", "", "--shard goes with --executor slurm-array")
    if scheduler and executor != "dask":
        raise ScenarioError("--scheduler", "", "--scheduler goes with --executor dask")
    if scheduler:
        check_scheduler(scheduler)
    return shard


# How a Dask scheduler is reached from another machine (Dask's inproc:// and ucx:// are not).
SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss")
SCHEDULER_CONNECT_SECONDS = 10


def check_scheduler(address: str) -> None:
    """--scheduler names a Dask scheduler that answers (``tcp://HOST:PORT``, or ``HOST:PORT``),
    checked before anything runs or is written: a typo, a scheduler that is down, or a port
    where something else listens is one line, not Dask's traceback (after its 30-second connect
    timeout for one that is down) or a wait without end (for a port that never answers).
    The lookup of the host's name and the connection together take at most
    SCHEDULER_CONNECT_SECONDS: a resolver that does not answer is a scheduler that does not."""
    from urllib.parse import urlsplit

    example = "an address such as tcp://HOST:8786"
    try:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
        host, port = parts.hostname, parts.port
    except ValueError as e:
        raise ScenarioError("--scheduler", "", f"{address!r} is not {example} ({e})") from None
    if parts.scheme not in SCHEDULER_PROTOCOLS or not host or port is None or parts.path not in ("", "/"):
        raise ScenarioError("--scheduler", "", f"{address!r} is not {example}")
    try:
        _connect(host, port, SCHEDULER_CONNECT_SECONDS)
    except (OSError, ValueError) as e:  # refused, unknown host, no route, timed out; a..b (UnicodeError)
        why = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ScenarioError("--scheduler", "", f"no Dask scheduler answers at {address}: {why}") from None
    why = _not_dask(address)
    if why:
        raise ScenarioError("--scheduler", "", f"no Dask scheduler answers at {address}: {why}")


# A Dask client's greeting, in a process of its own that is killed after SCHEDULER_GREETING_SECONDS:
# Dask's Client waits without limit on a port that accepts and says nothing (its timeout covers
# the connection, not the greeting). Isolated (-I): the current folder is not on its path, so a
# resource.py or numpy.py there is not run. Memory needs no limit of its own: another protocol's
# first bytes read as a frame length give an allocation too large to make (MemoryError), or one
# filled only by what the peer sends before the child is killed.
_GREETING = """
import sys
from distributed import Client
with Client(sys.argv[1], timeout=float(sys.argv[2]), set_as_default=False) as client:
    client.scheduler_info()
"""
SCHEDULER_GREETING_SECONDS = 30  # Dask's import (~1 s, more on a cold disk) and the greeting


def _not_dask(address: str) -> str | None:
    """Why what listens at ``address`` is not a Dask scheduler that answers, or None if it is."""
    import subprocess
    import sys

    command = [sys.executable, "-I", "-c", _GREETING, address, str(SCHEDULER_CONNECT_SECONDS)]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=SCHEDULER_GREETING_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"something listens there but did not answer as a Dask scheduler within {SCHEDULER_GREETING_SECONDS} s"
    if done.returncode == 0:
        return None
    last = next((ln.strip() for ln in reversed(done.stderr.splitlines()) if ln.strip()), f"exit {done.returncode}")
    return f"something listens there but does not answer as a Dask scheduler ({last[:160]})"


def _connect(host: str, port: int, seconds: float) -> None:
    """Open and close a TCP connection to ``host:port`` within ``seconds``, name lookup included
    (socket.create_connection's timeout covers the connection only, and a lookup can hang)."""
    import socket
    import time

    deadline = time.monotonic() + seconds
    error: OSError | None = None
    for family, kind, proto, _name, address in _lookup(host, port, seconds):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:  # a family the host lacks (IPv6 disabled) fails here: the next address may answer
            with socket.socket(family, kind, proto) as s:
                s.settimeout(left)
                s.connect(address)
                return
        except OSError as e:  # the next address may answer (IPv6 first, then IPv4)
            error = e
    raise error or TimeoutError(f"timed out after {seconds} s")


def _lookup(host: str, port: int, seconds: float) -> list[tuple]:
    """getaddrinfo in a daemon thread, waited on for ``seconds``: the C call cannot be
    interrupted, so a lookup that hangs is left behind (it ends with the process)."""
    import socket
    import threading

    found: list = []

    def lookup():
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, ValueError) as e:  # not found; a..b (UnicodeError)
            found.append(e)

    thread = threading.Thread(target=lookup, name="scheduler-lookup", daemon=True)
    thread.start()
    thread.join(seconds)
    if not found:
        raise TimeoutError(f"looking up {host} took more than {seconds} s")
    if isinstance(found[0], BaseException):
        raise found[0]
    return found[0]


def add_commands(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="run an experiment file's design; resumable, Parquet results in results/<experiment>/",
        description="Run every design point x replication of EXPERIMENT.yaml that is not yet stored in --out. "
        "Interrupt at any time; the same command resumes.",
    )
    p.add_argument("experiment", type=given_file, help="experiment file (experiments/*.yaml)")
    add_executor_arguments(p)
    p.add_argument("--out", type=given_path, default=None, help="default: results/<experiment name>/")
    p.add_argument("--chunk-size", type=positive_int, default=None, help="runs per task (default: automatic)")
    p.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    p.add_argument("--yes", action="store_true", help="start a design of more than 10,000 runs (sim/limits.py)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sweep)

    r = sub.add_parser("sweep-results", help="a sweep's results as one table: per-point means with 95%% CIs, or every run")
    r.add_argument("results", type=given_path, help="results/<experiment>/")
    r.add_argument("--runs", action="store_true", help="print every run instead of per-point means")
    r.add_argument("--to", type=given_path, default=None, metavar="FILE", help="write every run as one .csv or .parquet file")
    r.add_argument("--force", action="store_true", help="replace FILE if it exists")
    r.add_argument("--lang", choices=LANGS, default="en", help="language of the parameters' names (zh or en)")
    r.set_defaults(func=cmd_results)


def cmd_sweep(args) -> int:
    from sim.sweep import experiment, store

    shard = executor_shard(args.executor, args.shard, args.scheduler, args.workers)
    plan = experiment.load(args.experiment, confirmed=args.yes)  # every check, before anything is written
    out = store.check_out(args.out if args.out is not None else Path("results") / plan.name)
    from sim.sweep import run as sweep_run  # the executors and the model load once the input is good

    try:
        res = sweep_run.run_sweep(
            plan, out, args.executor, args.workers, args.scheduler, shard,
            progress=not args.quiet, retry_failed=args.retry_failed, chunk_size=args.chunk_size,
        )  # fmt: skip
    except KeyboardInterrupt:
        raise Interrupted.keeping(out) from None
    failed = f", {res.failed} failed (see the error column)" if res.failed else ""
    print(f"{plan.name}: {res.ran} runs in {res.seconds:.1f} s{failed}; {res.skipped} were already stored; "
          f"results in {out}/  (read: sim.sweep.store.read_results or `streetsim sweep-results {out}`)")  # fmt: skip
    # Failed runs are stored (error column) and the sweep goes on, but the exit status says so:
    # a SLURM array task with failed runs ends FAILED, and `--retry-failed` runs them again.
    return 1 if res.stored_failed else 0


def cmd_results(args) -> int:
    from sim.sweep import store

    if args.to is not None:
        from sim.scenario import ScenarioError

        if args.to.suffix.lower() not in (".csv", ".parquet"):
            raise ScenarioError("--to", "", f"{args.to}: name a .csv or .parquet file")
        from sim.results_folder import check_regular_file, resolve, write_atomic

        if resolve(args.to, "--to").is_relative_to(resolve(args.results, "--to")):  # the store itself: it would break
            raise ScenarioError("--to", "", f"{args.to} is inside the sweep's own folder; write the table elsewhere")
        check_regular_file(args.to, "--to")
        if args.to.exists() and not args.force:
            raise ScenarioError("--to", "", f"{args.to} exists; add --force to replace it (nothing was changed)")
    store.check_store(args.results)
    import pandas as pd

    from sim.sweep.analysis import point_summary

    table = store.read_results(args.results)
    if args.to is not None:
        try:
            write = (lambda p: table.to_parquet(p, index=False)) if args.to.suffix.lower() == ".parquet" else (
                lambda p: table.to_csv(p, index=False))
            write_atomic(args.to, write)  # an interrupt leaves no half-written file
        except OSError as e:
            from sim.scenario import ScenarioError

            raise ScenarioError("--to", "", f"cannot write {args.to}: {e.strerror or e}") from None
        print(f"wrote {len(table)} runs to {args.to}")
        return 0
    specs = store.read_manifest(args.results)["design"]["parameters"]
    columns = parameter_columns(specs, args.lang)
    # east_asian_width: pandas then pads a Chinese name by the two columns each character takes
    with pd.option_context("display.max_rows", 500, "display.max_columns", 50, "display.width", 200,
                           "display.unicode.east_asian_width", args.lang == "zh"):  # fmt: skip
        if not args.runs:
            counts = table["status"].value_counts().to_dict()
            print(", ".join(f"{v} {k}" for k, v in counts.items()))
        print(parameter_legend(specs, args.lang))
        shown = table if args.runs else point_summary(args.results, table)
        print(shown.rename(columns=columns).to_string(index=False))
    return 0


def parameter_columns(specs: dict, lang: str) -> dict[str, str]:
    """Each swept key path's column name in the terminal, as the sweep's figures name it
    (``sim.labels.short_name``)."""
    from sim.labels import short_name

    return {p: short_name(p, lang, spec.get("label")) for p, spec in specs.items()}


def parameter_legend(specs: dict, lang: str) -> str:
    """The swept parameters, each by its name with its unit and its key path under it (as the
    report's tables show them): the name to read the table, the key path to rerun with --set."""
    from sim.labels import named_key_path, word

    lines = [word("parameters_swept", lang)]
    for p, spec in specs.items():
        name, *key_path = named_key_path(p, lang, spec.get("label")).split("\n")  # a key with no name: its path alone
        lines += ["  " + name, *("    " + k for k in key_path)]
    return "\n".join(lines)
