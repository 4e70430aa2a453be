"""What a district's or city's totals cost: memory they add over the pooled cases, and time.

    .venv/bin/python benchmarks/district_totals.py                  # 150 streets
    .venv/bin/python benchmarks/district_totals.py --streets 400 --days 180

Runs `shanghai_street.yaml` once, pools its cases as a district run keeps them
(`sim.district.pooled_cases`), gives that table to ``--streets`` streets, and times
`sim.district.district_kpis` over them. Peak memory (max RSS) is read before and after the
totals, so the difference is what the totals add (the city year pools ~16 M cases). The streets
here share one table's columns (pandas copies on write), so the peak before the totals is small;
in a real run each street's cases are its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREET = ROOT / "scenarios" / "shanghai_street.yaml"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--streets", type=int, default=150)
    p.add_argument("--days", type=int, default=120)
    args = p.parse_args()
    import numpy as np

    from sim import district, runner, scenario

    settings = scenario.load(STREET, [f"horizon.days={args.days}", "horizon.warmup_days=20"])
    rep = runner.run_replication(settings, np.random.SeedSequence(1), 0)
    pooled = district.pooled_cases(rep.cases, settings.horizon.warmup_days * 24.0, 0)
    names = [f"street_{k}" for k in range(args.streets)]
    results = {n: [dataclasses.replace(rep, cases=pooled.assign(street=k))] for k, n in enumerate(names)}
    streets = dict.fromkeys(names, settings)
    rows = sum(len(r[0].cases) for r in results.values())
    before = peak_mb()
    t0 = time.perf_counter()
    totals = district.district_kpis(results, streets)
    seconds = time.perf_counter() - t0
    added = peak_mb() - before
    print(f"{args.streets} streets, {rows:,} pooled cases: totals in {seconds:.1f} s, adding {added:,.0f} MB to a "
          f"peak of {before:,.0f} MB ({added * 2**20 / rows:.0f} bytes a case); "
          f"cases closed {totals['cases_closed'].iloc[0]:,.0f}")


if __name__ == "__main__":
    main()
