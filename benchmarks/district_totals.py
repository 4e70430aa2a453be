"""What a district's or city's totals cost: the memory kept per street, and time.

    .venv/bin/python benchmarks/district_totals.py                  # 150 streets
    .venv/bin/python benchmarks/district_totals.py --streets 400 --days 180

Runs `shanghai_street.yaml` once and keeps of its cases what a district run keeps once the
street's tables are written (`sim.metrics.case_totals`: counts, and the waits and residents'
mean satisfaction whose means and percentiles the totals take), gives that to ``--streets``
streets, and times `sim.district.district_kpis` over them. Printed: bytes kept per case (what
a city year's 16 M cases cost the main process) and the peak memory (max RSS) the totals add.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREET = ROOT / "scenarios" / "shanghai_street.yaml"
WARMUP_DAYS = 20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def kept_bytes(totals) -> int:
    arrays = [totals.wait_hours, totals.resident_means, totals.closed_types]
    return sum(a.nbytes for a in arrays)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--streets", type=int, default=150)
    p.add_argument("--days", type=int, default=120, help=f"the street's horizon (more than its {WARMUP_DAYS}-day warm-up)")
    args = p.parse_args()
    if args.days <= WARMUP_DAYS:
        p.error(f"--days must be more than the {WARMUP_DAYS}-day warm-up")
    import numpy as np

    from sim import district, metrics, runner, scenario

    settings = scenario.load(STREET, [f"horizon.days={args.days}", f"horizon.warmup_days={WARMUP_DAYS}"])
    rep = runner.run_replication(settings, np.random.SeedSequence(1), 0)
    h = settings.horizon
    totals = metrics.case_totals(rep.cases, h.warmup_days * 24.0, h.days * 24.0)
    cases = totals.counts["arrived"]
    names = [f"street_{k}" for k in range(args.streets)]
    # each street its own copy of the arrays, as in a real run
    results = {n: [dataclasses.replace(rep, cases=None, case_totals=dataclasses.replace(
        totals, wait_hours=totals.wait_hours.copy(), resident_means=totals.resident_means.copy(),
        closed_types=totals.closed_types.copy()))] for n in names}
    streets = dict.fromkeys(names, settings)
    before = peak_mb()
    t0 = time.perf_counter()
    out = district.district_kpis(results, streets)
    seconds = time.perf_counter() - t0
    added = peak_mb() - before
    print(f"{args.streets} streets, {cases * args.streets:,} cases after the warm-up: {kept_bytes(totals) / cases:.1f} bytes "
          f"kept a case ({kept_bytes(totals) * args.streets / 2**20:,.0f} MB); totals in {seconds:.2f} s, adding "
          f"{added:,.0f} MB to a peak of {before:,.0f} MB; cases closed {out['cases_closed'].iloc[0]:,.0f}")


if __name__ == "__main__":
    main()
