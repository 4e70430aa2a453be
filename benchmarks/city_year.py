"""The whole city for a year: `streetsim run scenarios/shanghai_city.yaml`, one replication.

    .venv/bin/python benchmarks/city_year.py                      # local processes, all cores
    .venv/bin/python benchmarks/city_year.py --workers 2 --days 30  # a shorter horizon
    .venv/bin/python benchmarks/city_year.py --scheduler tcp://HOST:8786   # on a Dask cluster

Runs the real command in a child process (start-up, 213 street-years, totals, writing every
output and the figures) and prints its wall time, the cases simulated (every case of every street,
warm-up included, from the streets' cases.parquet) and cases per second, and the CPU time of all
its processes, which a shared machine's load does not inflate as much as wall time. Target (issue 9): a year
in 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CITY = ROOT / "scenarios" / "shanghai_city.yaml"
TARGET_SECONDS = 300


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: the command's)")
    p.add_argument("--scheduler", default=None, help="a Dask scheduler address instead of local processes")
    p.add_argument("--days", type=int, default=365, help="horizon (a shorter one has no warm-up)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="city_year.") as tmp:
        out = Path(tmp) / "city"
        cmd = [str(Path(sys.executable).parent / "streetsim"), "run", str(CITY), "--replications", "1",
               "--seed", str(args.seed), "--out", str(out), "--quiet", "--set", f"horizon.days={args.days}"]
        cmd += [] if args.days == 365 else ["--set", "horizon.warmup_days=0"]
        cmd += ["--workers", str(args.workers)] if args.workers else []
        cmd += ["--scheduler", args.scheduler] if args.scheduler else []
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        cases = sum(pq.ParquetFile(f).metadata.num_rows for f in out.glob("streets/*/cases.parquet"))
        streets = len(list(out.glob("streets/*/cases.parquet")))
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = children.ru_maxrss / 1024
    cpu = children.ru_utime + children.ru_stime  # every process of the command, whatever the load
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{args.workers or 'all'} local workers"
    print(f"city: {streets} streets, {args.days} days, one replication, {where}")
    print(f"wall {wall:,.0f} s, {cases:,} cases, {cases / wall:,.0f} cases/s, "
          f"largest process peak {peak_mb:,.0f} MB (target for a year: {TARGET_SECONDS} s)")
    if args.scheduler:  # the cluster's workers are not this command's children: their CPU is not seen here
        print(f"CPU {cpu:,.0f} s in the command's own process (the streets ran on the cluster's workers: "
              "see the cluster's own figures)")
    else:
        print(f"CPU {cpu:,.0f} s over all processes = {cases / cpu:,.0f} cases per CPU-second; "
              f"on {args.workers or 2} otherwise idle cores about {cpu / (args.workers or 2):,.0f} s")


if __name__ == "__main__":
    main()
