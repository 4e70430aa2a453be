"""Working-time queries: microseconds per call of each calendar question the model asks.

    .venv/bin/python benchmarks/working_time.py                 # sim/calendar.py as it is
    .venv/bin/python benchmarks/working_time.py --against 254dfcf   # and at a git revision, side by side

Calendars are reform_2015's office, patrol and staggered-late patterns; query times are spread
over a year, as in a street-year. Each figure is the best of five repeats of 100,000 calls.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATTERNS = {
    "office": [([0, 1, 2, 3, 4], 8.5, 17.0)],
    "patrol": [(list(range(7)), 8.0, 17.0)],
    "staggered_late": [([1, 2, 3, 4], 11.5, 20.0), ([5], 9.0, 17.5)],
}
CALLS = 100_000


def calendar_module(revision: str | None):
    if revision is None:
        sys.path.insert(0, str(ROOT))
        return importlib.import_module("sim.calendar")
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:sim/calendar.py"],
                            check=True, text=True, capture_output=True).stdout
    path = Path(tempfile.mkdtemp()) / "calendar_at_revision.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("calendar_at_revision", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_queries(module) -> dict[str, float]:
    """Microseconds per call, summed over the three calendars' share of calls."""
    rng = random.Random(1)
    times = [rng.uniform(0, 365 * 24) for _ in range(CALLS)]
    hours = [rng.expovariate(1 / 3.0) for _ in range(CALLS)]
    pairs = list(zip(times, hours))
    result = {}
    for name, shifts in PATTERNS.items():
        cal = module.Calendar(name, shifts, 0)
        queries = {
            "next_on_duty": lambda cal=cal: [cal.next_on_duty(t) for t in times],
            "shift_end": lambda cal=cal: [cal.shift_end(t) for t in times],
            "on_duty": lambda cal=cal: [cal.on_duty(t) for t in times],
            "add_working_hours": lambda cal=cal: [cal.add_working_hours(t, h) for t, h in pairs],
            "working_hours_between": lambda cal=cal: [cal.working_hours_between(t, t + h) for t, h in pairs],
        }
        for query, call in queries.items():
            best = min(timeit.repeat(call, number=1, repeat=5))
            result[query] = result.get(query, 0.0) + best / CALLS * 1e6 / len(PATTERNS)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", metavar="REV", help="also time sim/calendar.py at this git revision")
    args = p.parse_args()
    now = time_queries(calendar_module(None))
    before = time_queries(calendar_module(args.against)) if args.against else None
    header = f"{'query':<24} {'us/call':>8}" + (f" {'at ' + args.against:>14} {'speed-up':>9}" if before else "")
    print(header)
    for query, us in now.items():
        line = f"{query:<24} {us:>8.3f}"
        if before:
            line += f" {before[query]:>14.3f} {before[query] / us:>8.2f}x"
        print(line)


if __name__ == "__main__":
    main()
