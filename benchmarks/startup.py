"""Start-up time of each command: the wall time of `streetsim COMMAND` that does no simulation
(or a 1-day one), and Python's own import time of what it loads, median of several runs.

    .venv/bin/python benchmarks/startup.py            # 5 runs each
    .venv/bin/python benchmarks/startup.py --runs 9
    .venv/bin/python benchmarks/startup.py --against 254dfcf   # beside the code at a git revision

`import s` is the sum of Python's -X importtime over the modules the command loads; `wall s` is
the whole process (interpreter, imports, the work). Target (issue 9): validate and schema < 1 s.
The last rows are bad input (exit 2), answered before the simulation loads.
On a shared machine, read the medians beside `python -c pass` (the interpreter alone); with
--against, runs of the two revisions alternate so both see the same load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0


def commands(tmp: Path) -> dict[str, list[str]]:
    # --force: each of the runs after the first replaces the one before it in the same folder
    run = ["run", "scenarios/reform_2015.yaml", "-r", "1", "-j", "1", "--quiet", "--out", str(tmp / "run"), "--force",
           "--set", "horizon.days=1", "--set", "horizon.warmup_days=0"]
    return {
        "python -c pass": ["-c", "pass"],
        "--help": ["-m", "sim.cli", "--help"],
        "schema": ["-m", "sim.cli", "schema"],
        "validate (1 scenario)": ["-m", "sim.cli", "validate", "scenarios/reform_2015.yaml"],
        "validate (district)": ["-m", "sim.cli", "validate", "scenarios/changning_district.yaml"],
        "run (1 day, figures)": ["-m", "sim.cli", *run],
        # a typo is answered before the model loads (exit 2)
        "bad district file: run": ["-m", "sim.cli", "run", "tests/bad_inputs/district_street_dotdot.yaml"],
        "bad experiment: sweep": ["-m", "sim.cli", "sweep", "tests/bad_inputs/exp_name_dotdot.yaml"],
        "no results: figures": ["-m", "sim.cli", "figures", "tests/bad_inputs"],
        "bad --roles: staff": ["-m", "sim.cli", "staff", "scenarios/reform_2015.yaml", "--roles", "nobody",
                               "--target", "on_time_resident>=0.9"],
        # from this checkout: a revision compared with --against may not have the file
        "bad kpis: sweep": ["-m", "sim.cli", "sweep", str(ROOT / "tests/bad_inputs/exp_kpi_typo.yaml")],
    }


SIMULATES = "run (1 day, figures)"  # left out with --no-run


def expected_status(name: str) -> int:
    return 2 if name.startswith(("bad ", "no results")) else 0


def import_seconds(stderr: str) -> float:
    """Total of -X importtime's self times (microseconds) over every module imported."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us = line.split(":", 1)[1].split("|")[0].strip()
            if self_us.isdigit():
                total += int(self_us)
    return total / 1e6


def once(args: list[str], code: Path, status: int = 0) -> tuple[float, float]:
    """Wall and import seconds of one run; ``code`` is the checkout whose ``sim`` is imported."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=code, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(code)})
    wall = time.perf_counter() - t0
    if done.returncode != status:
        raise SystemExit(f"{args}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return wall, import_seconds(done.stderr)


def checkout(revision: str, into: Path) -> Path:
    """The files of ``revision`` (git archive: the repository itself is not touched)."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--against", metavar="REV", help="also time the code at this git revision")
    p.add_argument("--no-run", action="store_true", help="leave out `run` (it simulates a day and draws figures)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT}
        if args.against:
            trees[args.against] = checkout(args.against, Path(tmp) / "before")
        header = "".join(f" {'wall s':>7} {'import s':>9} {'(' + label + ')':<12}" for label in trees)
        print(f"{'command':<24}{header}  median of {args.runs}")
        for name, argv in commands(Path(tmp)).items():
            if args.no_run and name == SIMULATES:
                continue
            times = {label: [] for label in trees}
            for _ in range(args.runs):
                for label, code in trees.items():  # alternate, so both see the same load
                    times[label].append(once(argv, code, expected_status(name)))
            cells = ""
            for runs in times.values():
                wall = statistics.median(w for w, _ in runs)
                imported = statistics.median(i for _, i in runs)
                cells += f" {wall:>7.2f} {imported:>9.2f} {'':<12}"
            print(f"{name:<24}{cells}", flush=True)
    print(f"target: validate and schema under {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
