"""The same design and seeds give the same KPIs on every executor and every sharding."""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_sweep_helpers import KPIS, MMC, ROOT, kpi_table, raw_run_ids, write_experiment

from sim import runner
from sim import scenario as scenario_mod
from sim.sweep import experiment, store
from sim.sweep.run import run_sweep


@pytest.fixture(scope="module")
def exp_file(tmp_path_factory):
    return write_experiment(tmp_path_factory.mktemp("exp") / "mmc_grid.yaml", timeseries=["open_cases", "queue_servers"])


@pytest.fixture(scope="module")
def local_result(exp_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    res = run_sweep(experiment.load(exp_file), out, "local", workers=2, progress=False)
    assert (res.ran, res.failed) == (18, 0)
    return out


def test_local_sweep_stores_every_run_once_with_manifest(local_result):
    table = store.read_results(local_result)
    assert len(table) == 18 and (table["status"] == "ok").all()
    assert sorted(raw_run_ids(local_result)) == sorted(table["run_id"])
    man = store.read_manifest(local_result)
    assert man["kind"] == "sweep" and man["design"]["points"] == 6 and man["seed"] == 11
    assert "experiment: mmc_grid" in man["experiment_text"]
    ts = store.read_timeseries(local_result)
    assert len(ts) == 18 * 30 and set(ts.groupby("run_id")["day"].max()) == {30}
    assert {"open_cases", "queue_servers", "staffing.servers.count"} <= set(ts.columns)
    # the parameter reached the model: more servers, lower utilisation at the same arrival rate
    means = table.groupby(["staffing.servers.count", "case_types.job.arrivals.per_hour"])["utilisation_servers"].mean()
    assert (means.loc[4] < means.loc[3]).all()


def test_common_random_numbers_and_same_seeds_as_streetsim_run(local_result):
    """Replication r of a point equals `streetsim run --seed 11`'s replication r at that point."""
    table = store.read_results(local_result)
    row = table[(table["staffing.servers.count"] == 4) & (table["case_types.job.arrivals.per_hour"] == 2.0)
                & (table["replication"] == 2)].iloc[0]  # fmt: skip
    settings = scenario_mod.load(MMC, ["horizon.days=30", "horizon.warmup_days=2", "staffing.servers.count=4",
                                       "case_types.job.arrivals.per_hour=2.0"])  # fmt: skip
    rep = runner.run_replication(settings, runner.replication_seeds(11, 3)[2], 2, keep_cases=False)
    for k in KPIS:
        assert rep.kpis[k] == pytest.approx(row[k], rel=0, abs=0)
    # CRN: the same replication sees the same arrivals whatever the staffing
    arrivals = table.pivot_table(index=["case_types.job.arrivals.per_hour", "replication"],
                                 columns="staffing.servers.count", values="cases_arrived")  # fmt: skip
    assert (arrivals[3] == arrivals[4]).all()


def test_dask_local_cluster_matches_local_executor(exp_file, local_result, tmp_path, capfd):
    """Also: nothing on stderr although port 8787 (Dask's default) is taken, as it is when
    another Dask runs on the machine."""
    pytest.importorskip("dask.distributed")
    import socket

    with socket.socket() as taken:
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:  # already taken by someone else: the same situation
            pass
        capfd.readouterr()
        res = run_sweep(experiment.load(exp_file), tmp_path, "dask", workers=2, progress=False)
        assert capfd.readouterr().err == ""
    assert (res.ran, res.failed) == (18, 0)
    dask_t, local_t = kpi_table(tmp_path), kpi_table(local_result)
    pd.testing.assert_frame_equal(dask_t, local_t)
    assert len(set(store.read_results(tmp_path)["worker"])) == 2  # both Dask workers took part


def test_shards_together_equal_the_full_sweep(exp_file, local_result, tmp_path):
    plan = experiment.load(exp_file)
    sizes = []
    for i in (1, 2, 3):
        res = run_sweep(plan, tmp_path, "slurm-array", workers=1, shard=(i, 3), progress=False)
        sizes.append(res.ran)
    assert sum(sizes) == 18 and min(sizes) == 6  # disjoint, balanced
    assert sorted(raw_run_ids(tmp_path)) == sorted(kpi_table(local_result)["run_id"])
    pd.testing.assert_frame_equal(kpi_table(tmp_path), kpi_table(local_result))
    # a shard started again finds its runs stored and runs nothing
    assert run_sweep(plan, tmp_path, "slurm-array", workers=1, shard=(2, 3), progress=False).ran == 0


def test_failed_run_is_recorded_and_the_sweep_goes_on(exp_file, tmp_path, monkeypatch):
    """A run that raises is stored with its error; every other run completes; a re-run skips it
    and --retry-failed runs it again."""
    from sim.sweep import worker

    real = worker.runner.run_replication

    def flaky(settings, seed_seq, index=0, keep_cases=True):
        if settings.staffing["servers"].count == 4 and index == 1:
            raise RuntimeError("model broke")
        return real(settings, seed_seq, index, keep_cases)

    monkeypatch.setattr(worker.runner, "run_replication", flaky)
    plan = experiment.load(exp_file)
    res = run_sweep(plan, tmp_path, "local", workers=1, progress=False)
    assert (res.ran, res.failed) == (18, 3)
    table = store.read_results(tmp_path)
    failed = table[table["status"] == "failed"]
    assert len(failed) == 3 and failed["error"].str.contains("RuntimeError: model broke").all()
    assert failed["on_time_resident"].isna().all()
    assert np.isfinite(table.loc[table["status"] == "ok", "on_time_resident"]).all()
    assert run_sweep(plan, tmp_path, "local", workers=1, progress=False).ran == 0
    monkeypatch.setattr(worker.runner, "run_replication", real)
    res = run_sweep(plan, tmp_path, "local", workers=1, progress=False, retry_failed=True)
    assert (res.ran, res.failed) == (3, 0)
    assert (store.read_results(tmp_path)["status"] == "ok").all()
    assert len(raw_run_ids(tmp_path)) == 18  # the failed rows were replaced, not duplicated


def test_a_pool_that_keeps_breaking_ends_in_one_line(exp_file, tmp_path, monkeypatch, capsys):
    """Worker processes that die every time (say, out of memory): after the restarts, one line
    naming how many runs are not stored, exit 1, nothing recorded as failed."""
    from sim import cli
    from sim.sweep import executors

    starts = []

    def breaks(self, ctx, chunks, on_result):
        starts.append(len(chunks))
        raise executors.WorkerLost("A process in the process pool was terminated abruptly")

    monkeypatch.setattr(executors.LocalExecutor, "run", breaks)
    assert cli.main(["sweep", str(exp_file), "--out", str(tmp_path / "out"), "--quiet", "--workers", "2"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("error: --executor local: 18 runs not stored: worker processes died 6 times (A process in "
                       "the process pool was terminated abruptly); the others are stored: run the same command again "
                       "to run these")  # fmt: skip
    assert len(starts) == 6 and not store.part_files(tmp_path / "out")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="hiding a folder from one worker needs root and unshare (a private mount namespace)")
def test_a_dask_worker_that_cannot_see_the_output_folder_stops_the_sweep(tmp_path):
    """A 'remote' worker: its own mount namespace, where a tmpfs hides the folder the sweep writes to."""
    import socket
    import subprocess
    import sys

    from distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dask = str(Path(sys.executable).parent / "dask")
    shared = tmp_path / "shared"
    shared.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]  # fmt: skip
    try:
        procs.append(subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", f"mount -t tmpfs none {shared} && exec {dask} "
             f"worker tcp://127.0.0.1:{port} --nworkers 1 --nthreads 1 --no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))  # fmt: skip
        with Client(f"tcp://127.0.0.1:{port}", timeout=60) as c:
            c.wait_for_workers(1, timeout=90)
        exp = write_experiment(tmp_path / "e.yaml", days=10, replications=1)
        proc = subprocess.run([sys.executable, "-m", "sim.cli", "sweep", str(exp), "--executor", "dask", "--scheduler",
                               f"tcp://127.0.0.1:{port}", "--out", str(shared / "out"), "--quiet"],
                              capture_output=True, text=True, timeout=180, env=env)  # fmt: skip
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(20)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler: worker "), lines
    assert f"cannot see the output folder {(shared / 'out').resolve()}" in lines[0]
    assert not list((shared / "out" / "parts").glob("*.parquet"))  # no run stored, none recorded as failed


def _closed_port():
    """A local port nothing listens on: bound, so no one else takes it, but not listening."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


@pytest.mark.parametrize("command", ["sweep", "staff", "run-district"])
@pytest.mark.parametrize("address, why", [
    ("notaurl", "is not an address such as tcp://HOST:8786"),
    ("tcp://[::1", "is not an address such as tcp://HOST:8786"),
    ("inproc://x", "is not an address such as tcp://HOST:8786"),
    ("CLOSED", "no Dask scheduler answers at tcp://127.0.0.1:"),
    ("tcp://a..b:8786", "no Dask scheduler answers at tcp://a..b:8786"),  # an empty label: UnicodeError
])  # fmt: skip
def test_a_scheduler_that_is_no_address_or_does_not_answer_is_one_line(command, address, why, tmp_path, capsys):
    """Before: Dask's ValueError at once, or its OSError traceback after a 30-second timeout."""
    from sim.cli import main

    with _closed_port() as closed:
        if address == "CLOSED":
            address = f"tcp://127.0.0.1:{closed.getsockname()[1]}"
        out = tmp_path / "out"
        args = {
            "sweep": ["sweep", str(write_experiment(tmp_path / "e.yaml", days=5, replications=1)), "--executor", "dask"],
            "staff": ["staff", str(MMC), "--target", "queue_waited_share_servers<=0.3", "--roles", "servers",
                      "--executor", "dask"],
            "run-district": ["run", str(ROOT / "scenarios/changning_district.yaml")],
        }[command]  # fmt: skip
        t0 = time.perf_counter()
        code = main([*args, "--scheduler", address, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: --scheduler: ") and why in err[0], err
    assert time.perf_counter() - t0 < 15 and not out.exists()


def test_a_scheduler_name_that_does_not_resolve_in_time_is_one_line_within_the_bound(monkeypatch):
    """Before: the name was looked up outside the 10-second connect timeout (create_connection
    resolves first), so a resolver that never answered hung the command before anything ran."""
    import threading

    from sim.sweep import commands

    released = threading.Event()
    real = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        if host == "slow.scheduler.test":
            released.wait(5)  # a resolver that does not answer (released at the end of the test)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    monkeypatch.setattr(commands, "SCHEDULER_CONNECT_SECONDS", 1)
    t0 = time.perf_counter()
    try:
        with pytest.raises(scenario_mod.ScenarioError) as e:
            commands.check_scheduler("tcp://slow.scheduler.test:8786")
    finally:
        released.set()
    assert time.perf_counter() - t0 < 3
    assert str(e.value) == ("--scheduler: no Dask scheduler answers at tcp://slow.scheduler.test:8786: "
                            "looking up slow.scheduler.test took more than 1 s")


class _NotDask:
    """A local port where something listens that is no Dask scheduler: one that accepts and says
    nothing (``silent``), or a web server (``http``)."""

    def __init__(self, mode: str):
        import threading

        self.mode, self.server, self.open = mode, socket.socket(), []
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed at the end of the test
                return
            self.open.append(conn)
            if self.mode == "http":
                try:
                    conn.recv(100)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        for conn in self.open:
            conn.close()
        self.server.close()


@pytest.mark.parametrize("mode", ["silent", "http"])
def test_a_port_where_no_dask_scheduler_listens_is_one_line_within_the_bound(mode, tmp_path, capsys, monkeypatch):
    """Before: the TCP connection was all that was checked, so a port that accepts and never
    answers hung the sweep without end (Dask's Client waits for the greeting without limit),
    after the sweep's lock, design and manifest were written."""
    from sim.cli import main
    from sim.sweep import commands

    monkeypatch.setattr(commands, "SCHEDULER_GREETING_SECONDS", 8)
    server = _NotDask(mode)
    out = tmp_path / "out"
    t0 = time.perf_counter()
    try:
        code = main(["sweep", str(write_experiment(tmp_path / "e.yaml", days=5, replications=1)), "--executor", "dask",
                     "--scheduler", f"tcp://127.0.0.1:{server.port}", "--out", str(out), "--quiet"])  # fmt: skip
    finally:
        server.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: --scheduler: no Dask scheduler answers at tcp://127.0.0.1:{server.port}: "
                             "something listens there but "), err  # fmt: skip
    assert time.perf_counter() - t0 < 20 and not out.exists()


def test_a_live_scheduler_passes_the_greeting_from_a_folder_holding_modules_of_dasks_names(tmp_path, monkeypatch):
    """The greeting's child process ran with the current folder first on its path, so a
    distributed.py or resource.py there was run and a live scheduler was said not to answer."""
    import subprocess
    import sys

    from sim.sweep.commands import check_scheduler

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for name in ("distributed.py", "resource.py", "numpy.py"):
        (tmp_path / name).write_text('raise SystemExit("not the real one")\n')
    dask = str(Path(sys.executable).parent / "dask")
    proc = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for_listening(port, proc)
        monkeypatch.chdir(tmp_path)
        check_scheduler(f"tcp://127.0.0.1:{port}")  # no ScenarioError
    finally:
        proc.terminate()
        proc.wait(20)


def _wait_for_listening(port: int, proc, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the scheduler ended"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {seconds} s")


def test_a_scheduler_by_host_name_that_answers_passes(monkeypatch):
    """localhost may resolve to ::1 first, where nothing listens: the next address is tried.
    (The listener is a plain socket: Dask's greeting is not what this checks.)"""
    from sim.sweep import commands
    from sim.sweep.commands import check_scheduler

    monkeypatch.setattr(commands, "_not_dask", lambda address: None)

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        check_scheduler(f"tcp://localhost:{listening.getsockname()[1]}")
        check_scheduler(f"127.0.0.1:{listening.getsockname()[1]}")


def test_a_scheduler_is_found_on_a_host_without_ipv6(monkeypatch):
    """localhost resolving to ::1 first on a host with IPv6 disabled: making that socket fails,
    and the next address (127.0.0.1, where the scheduler listens) must still be tried."""
    from sim.sweep import commands
    from sim.sweep.commands import check_scheduler

    monkeypatch.setattr(commands, "_not_dask", lambda address: None)

    real_socket = socket.socket

    def no_ipv6(family=socket.AF_INET, *args, **kwargs):
        if family == socket.AF_INET6:
            raise OSError(97, "Address family not supported by protocol")
        return real_socket(family, *args, **kwargs)

    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))])
        monkeypatch.setattr(socket, "socket", no_ipv6)
        check_scheduler(f"tcp://localhost:{port}")


@pytest.mark.parametrize("cpus", ["abc", "0", "-2", "1.5", "２", "100000", "9" * 5000])
def test_a_bad_slurm_cpus_per_task_is_one_line_and_nothing_written(cpus, tmp_path, capsys, monkeypatch):
    """Before: int() raised ValueError ('abc') or 0 workers divided by zero in chunk(), as a
    traceback, after the sweep's lock, design and manifest were written."""
    from sim.cli import main

    monkeypatch.setenv("SLURM_CPUS_PER_TASK", cpus)
    out = tmp_path / "out"
    code = main(["sweep", str(write_experiment(tmp_path / "e.yaml", days=5, replications=1)),
                 "--executor", "slurm-array", "--shard", "1/2", "--out", str(out), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: SLURM_CPUS_PER_TASK: "), err
    assert not out.exists()
