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
    rows = []
    for k in common:
        d = (b[k] - a[k]).dropna()
        if len(d) < 2 or (d == d.iloc[0]).all():
            continue  # identical (or a constant shift, which a t-test cannot judge)
        half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
        p_value = stats.ttest_1samp(d, 0.0).pvalue
        rows.append((k, a[k].mean(), b[k].mean(), d.mean() - half, d.mean() + half, p_value))
    # 170-odd KPIs at 95% each: ~5% exclude zero by chance, so also control the false discovery
    # rate (Benjamini-Hochberg), as `compare`'s headline does.
    q = stats.false_discovery_control([r[5] for r in rows]) if rows else []
    excluded = [(r, qv) for r, qv in zip(rows, q) if r[3] > 0 or r[4] < 0]
    print(f"{args.before.name}: {len(common) - len(excluded)} of {len(common)} KPIs agree (paired 95% CI of the "
          f"difference holds 0), {len(a)} replications; {sum(qv < 0.05 for _, qv in excluded)} moved after "
          f"Benjamini-Hochberg at 5%")
    for (k, ma, mb, lo, hi, p_value), qv in excluded:
        print(f"  CI excludes 0: {k}: {ma:.4g} -> {mb:.4g}, difference 95% CI [{lo:.4g}, {hi:.4g}], "
              f"p={p_value:.3g}, BH q={qv:.3g}")


if __name__ == "__main__":
    main()
