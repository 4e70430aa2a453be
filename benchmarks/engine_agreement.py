"""Do two versions of the model agree? Paired differences of every KPI, replication by replication.

    .venv/bin/python benchmarks/engine_agreement.py BEFORE_RESULT AFTER_RESULT

Each argument is a `streetsim run` folder of the same scenario, replications and seed, made by
two versions of the code (e.g. before and after an engine change). Replication i of both used the
same seed, so the difference is paired. Prints, for each KPI whose paired difference's 95% CI
excludes zero, the means and the CI; and the count of KPIs that agree.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from scipy import stats


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    args = p.parse_args()
    a = pd.read_csv(args.before / "summary.csv").set_index("replication")
    b = pd.read_csv(args.after / "summary.csv").set_index("replication")
    common = [c for c in a.columns if c in b.columns and pd.api.types.is_numeric_dtype(a[c])]
    agree, moved = 0, []
    for k in common:
        d = (b[k] - a[k]).dropna()
        if len(d) < 2 or (d == 0).all():
            agree += 1
            continue
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        lo, hi = d.mean() - half, d.mean() + half
        if lo > 0 or hi < 0:
            moved.append((k, a[k].mean(), b[k].mean(), lo, hi))
        else:
            agree += 1
    print(f"{args.before.name}: {agree} of {len(common)} KPIs agree (paired 95% CI of the difference holds 0), "
          f"{len(a)} replications")
    for k, ma, mb, lo, hi in moved:
        print(f"  moved {k}: {ma:.4g} -> {mb:.4g}, difference 95% CI [{lo:.4g}, {hi:.4g}]")


if __name__ == "__main__":
    main()
