"""How far the event engine alone is from issue 9's 40,000 cases per second.

    .venv/bin/python benchmarks/engine_floor.py              # reform_2015, 120 days
    .venv/bin/python benchmarks/engine_floor.py --days 365

Prints (1) SimPy's own cost per event on this machine: a timeout scheduled, popped and its one
callback called, which is the least a step of a case can cost while SimPy is the engine; (2) for
a `reform_2015` street: cases, SimPy events, jobs (pieces of work queued for a worker) and Python
function calls per case, and the CPU time per case; and so (3) the engine's share of a case and
what is left per job for the model's own work at the target of 25 us a case.
Counts come from a second, profiled run of the same street (same seed, so the same cases).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_US_PER_CASE = 1e6 / 40_000  # issue 9


def simpy_us_per_event(n: int = 200_000, chains: int = 200) -> float:
    """Chains of timeouts, each callback scheduling the chain's next: the heap holds ``chains``
    events, as a street's does (one per busy worker and per waiting case)."""
    import simpy

    def once() -> None:
        env = simpy.Environment()
        left = [n]

        def fire(_event):
            if left[0] > 0:
                left[0] -= 1
                env.timeout(1.0 + (left[0] % 7) * 0.1).callbacks.append(fire)

        for i in range(chains):
            env.timeout(i * 0.01).callbacks.append(fire)
        env.run()

    return min(timeit.repeat(once, number=1, repeat=5)) / (n + chains) * 1e6


def street(days: int, profiled: bool) -> dict:
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from sim import runner, scenario, teams
    from sim.street import StreetModel

    settings = scenario.load(ROOT / "scenarios" / "reform_2015.yaml", [f"horizon.days={days}"])
    model = StreetModel(settings, np.random.SeedSequence(1))
    counts = {"events": 0, "jobs": 0}
    if profiled:  # count what the plain run does: every event scheduled, every job queued
        schedule, submit = model.env.schedule, teams.Team.submit

        def counted_schedule(*a, **k):
            counts["events"] += 1
            return schedule(*a, **k)

        def counted_submit(self, job, line):
            counts["jobs"] += 1
            return submit(self, job, line)

        model.env.schedule = counted_schedule
        teams.Team.submit = counted_submit
        prof = cProfile.Profile()
        with runner.few_collections():
            prof.runcall(model.run)
        teams.Team.submit = submit
        counts["calls"] = pstats.Stats(prof).total_calls
        return {"cases": len(model.cases), **counts}
    c0 = time.process_time()
    with runner.few_collections():
        model.run()
    return {"cases": len(model.cases), "cpu_s": time.process_time() - c0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=int, default=120)
    args = p.parse_args()
    per_event = simpy_us_per_event()
    plain = street(args.days, profiled=False)
    counted = street(args.days, profiled=True)
    assert counted["cases"] == plain["cases"], "the profiled run must see the same cases"
    n = plain["cases"]
    us_case = plain["cpu_s"] / n * 1e6
    events, jobs, calls = (counted[k] / n for k in ("events", "jobs", "calls"))
    engine = per_event * events
    print(f"SimPy alone: {per_event:.2f} us per event (timeout scheduled, popped, one callback)")
    print(f"reform_2015, {args.days} days: {n:,} cases, {us_case:.1f} us CPU per case "
          f"({1e6 / us_case:,.0f} cases per CPU-second)")
    print(f"  per case: {events:.2f} SimPy events, {jobs:.2f} jobs, {calls:.0f} Python function calls")
    print(f"  the engine's part: {events:.2f} events x {per_event:.2f} us = {engine:.1f} us "
          f"({engine / us_case:.0%} of a case); the model's own work {us_case - engine:.1f} us, "
          f"{(us_case - engine) / jobs:.1f} us per job")
    left = TARGET_US_PER_CASE - engine
    print(f"target 40,000 cases/s = {TARGET_US_PER_CASE:.0f} us per case: with SimPy's part as it is, "
          f"{left:.1f} us are left for the model's work, {left / jobs:.1f} us per job "
          f"({(us_case - engine) / max(left, 1e-9):.1f}x less than now)")


if __name__ == "__main__":
    main()
