"""A real one-node SLURM cluster for the tests (no tests here; tests/test_slurm.py uses it).

As root, with Debian's ``slurm-wlm`` and ``munge``: munged with its own key and socket,
slurmctld and slurmd from a generated slurm.conf, every state, spool, log and PID file in one
temporary folder, and nothing of the machine's own configuration used. The daemons run in the
foreground as our children and are stopped by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol")


def unavailable() -> str | None:
    """Why no cluster can be started here, or None."""
    if os.geteuid() != 0:
        return "the one-node SLURM cluster needs root (SlurmUser=root, munged key ownership)"
    missing = [d for d in DAEMONS if not shutil.which(d) and not Path("/usr/sbin", d).exists()]
    if missing:
        return f"missing {', '.join(missing)}: apt-get install slurm-wlm munge (make sysdeps)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


@dataclass
class Cluster:
    root: Path
    node: str
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def env(self) -> dict:
        return {**os.environ, "SLURM_CONF": str(self.root / "slurm.conf")}

    def run(self, *argv, check=True, timeout=60) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, check=check, timeout=timeout)

    def start(self) -> None:
        r = self.root
        for d in ("state", "spool", "munge", "logs"):
            (r / d).mkdir(mode=0o700)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = r / "munge" / "munge.socket"
        self._daemon("munged", [_exe("munged"), "-F", "-f", f"--socket={sock}", f"--key-file={key}",
                                f"--log-file={r / 'logs' / 'munged.log'}", f"--pid-file={r / 'munge' / 'munged.pid'}",
                                f"--seed-file={r / 'munge' / 'munged.seed'}"])  # fmt: skip
        _wait_for(lambda: sock.exists(), 20, "munged's socket", r / "logs" / "munged.log")
        (r / "slurm.conf").write_text(self._conf(sock))
        (r / "plugstack.conf").write_text("")
        self._daemon("slurmctld", [_exe("slurmctld"), "-D", "-i", "-f", str(r / "slurm.conf")])
        _wait_for(lambda: self.run("scontrol", "ping", check=False).stdout.count("UP") > 0, 60, "slurmctld",
                  r / "logs" / "slurmctld.log")  # fmt: skip
        self._daemon("slurmd", [_exe("slurmd"), "-D", "-f", str(r / "slurm.conf"), "-N", self.node])
        _wait_for(self._node_idle, 60, "slurmd (node idle)", r / "logs" / "slurmd.log")

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.strip()
        return out in ("idle", "mix", "alloc")

    def _conf(self, sock: Path) -> str:
        r = self.root
        return f"""ClusterName=streetsimtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
StateSaveLocation={r / 'state'}
SlurmdSpoolDir={r / 'spool'}
SlurmctldPidFile={r / 'slurmctld.pid'}
SlurmdPidFile={r / 'slurmd.pid'}
SlurmctldLogFile={r / 'logs' / 'slurmctld.log'}
SlurmdLogFile={r / 'logs' / 'slurmd.log'}
PlugStackConfig={r / 'plugstack.conf'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=3600
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={self.node} NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
"""

    def _daemon(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "logs" / f"{name}.out", "wb")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                            start_new_session=True)  # fmt: skip

    def stop(self) -> None:
        """Stop the daemons we started, by PID, newest first."""
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)

    # ----------------------------------------------------------------- jobs
    def sbatch(self, *argv, cwd=None) -> str:
        out = subprocess.run(["sbatch", "--parsable", *argv], env=self.env, capture_output=True, text=True,
                             cwd=cwd, timeout=60)  # fmt: skip
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().split(";")[0]

    def shards_of(self, command: str, shards: int, folder: Path, timeout: float = 300):
        """Run ``command --executor slurm-array --shard I/N`` as an N-task array (one CPU each,
        logs in ``folder``); wait for it; return (task id -> (state, exit code), each task's log)."""
        job = self.sbatch(f"--array=1-{shards}", "--cpus-per-task=1", "--mem-per-cpu=900M", "--time=00:10:00",
                          f"--output={folder}/%A_%a.log", "--wrap",
                          f"{command} --executor slurm-array --shard $SLURM_ARRAY_TASK_ID/{shards} --shard-wait 120",
                          cwd=folder)  # fmt: skip
        states = self.wait(job, timeout=timeout)
        return states, [p.read_text() for p in sorted(Path(folder).glob(f"{job}_*.log"))]

    def wait(self, job: str, timeout: float = 300) -> dict[str, tuple[str, str]]:
        """Wait for every task of ``job``; task id -> (JobState, ExitCode)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.states(job)
            if states and all(s in FINAL for s, _ in states.values()):
                return states
            time.sleep(1)
        raise TimeoutError(f"job {job} not finished after {timeout} s: {self.states(job)}")

    def states(self, job: str) -> dict[str, tuple[str, str]]:
        out = self.run("scontrol", "-o", "show", "job", job, check=False).stdout
        tasks = {}
        for line in out.splitlines():
            f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            task = f.get("ArrayTaskId", f.get("JobId"))
            tasks[task] = (f.get("JobState"), f.get("ExitCode"))
        return tasks


FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}


def _wait_for(ok, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ok():
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise RuntimeError(f"{what} did not come up in {seconds} s; log:\n{tail}")


def start_cluster(root: Path) -> Cluster:
    c = Cluster(Path(root), socket.gethostname().split(".")[0])
    try:
        c.start()
    except BaseException:
        c.stop()
        raise
    return c
