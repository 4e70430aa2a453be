"""Confidence intervals across replications that respect each KPI's range.

The kind of interval follows the KPI's unit in :mod:`sim.labels`:

- **share / score** (in [0, 1]): Wilson score interval. A replication's share is itself a mean
  over many cases, so the number of trials is the *effective* sample size
  ``n_eff = p(1-p) / var(mean)`` (Kish), never below the number of replications; the Student
  quantile replaces z for small samples. The interval stays inside [0, 1].
- **whole-number counts** (cases, people): exact Poisson (Garwood) interval on the total over
  replications, scaled by the dispersion ``max(1, variance / mean)`` (quasi-Poisson; when the
  dispersion is estimated, at the level whose normal quantile is Student t's), so it stays
  >= 0 and does not shrink to nothing when every replication counts 0.
- **other non-negative quantities** (hours, days, yuan, counts per case): Student t; when the t
  interval would cross 0, a BCa bootstrap of the mean (``scipy.stats.bootstrap``, fixed seed),
  which stays inside the data's range.
- **paired differences**: Student t on the per-replication differences (common random numbers
  make them paired), with a p-value for the test of no change; multiple KPIs are corrected with
  Benjamini–Hochberg (``scipy.stats.false_discovery_control``).

Every function says which method it used, so tables and reports can say it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.labels import is_input, unit_key

CONFIDENCE = 0.95
MULTIPLE_TESTING = "Benjamini-Hochberg"  # false discovery rate across the KPIs tested at once
PROPORTION_UNITS = ("share", "score")
COUNT_UNITS = ("cases", "people", "count")
NONNEGATIVE_UNITS = ("days", "hours", "yuan_per_year", "yuan", *COUNT_UNITS)
BOOTSTRAP_SEED = 20150101  # fixed: the same data always give the same interval

METHOD_NAMES = {  # method key -> (Chinese, English), for tables and the report
    "wilson": ("Wilson（有效样本量）", "Wilson (effective n)"),
    "poisson": ("精确泊松（过度离散校正）", "exact Poisson (overdispersion-scaled)"),
    "t": ("t分布", "Student t"),
    "bootstrap": ("BCa自助法", "BCa bootstrap"),
    "fixed": ("固定输入", "fixed input"),
    "constant": ("各次重复相同", "no variation"),
    "single": ("仅1次重复，无区间", "1 replication: no interval"),
    "none": ("无数据", "no data"),
}


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    method: str  # a key of METHOD_NAMES


def interval(values, kpi: str, confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``values`` (one per replication) and its confidence interval, by the KPI's kind."""
    x = _clean(values)
    if len(x) == 0:
        return Interval(math.nan, math.nan, math.nan, "none")
    m = float(x.mean())
    kind = unit_key(kpi)
    if is_input(kpi) and np.all(x == x[0]):
        return Interval(m, m, m, "fixed")
    if len(x) == 1:  # nothing to say how far another replication might land
        return Interval(m, math.nan, math.nan, "single")
    if kind in PROPORTION_UNITS:
        if np.all(x == x[0]):
            # Every replication at the same share (0 or 1): the replications carry no information
            # on the spread, and the case counts behind the shares are not in the summary.
            return Interval(m, m, m, "constant")
        return Interval(m, *wilson(x, confidence), "wilson")
    if kind in COUNT_UNITS and np.all(x == np.round(x)) and np.all(x >= 0):
        return Interval(m, *quasi_poisson(x, confidence), "poisson")
    if np.all(x == x[0]):
        return Interval(m, m, m, "constant")
    lo, hi = t_interval(x, confidence)
    if kind in NONNEGATIVE_UNITS and lo < 0 <= x.min():
        return Interval(m, *bootstrap_mean(x, confidence), "bootstrap")
    return Interval(m, lo, hi, "t")


def wilson(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a mean of shares, with the effective number of trials."""
    n = len(x)
    p = float(np.clip(x.mean(), 0.0, 1.0))
    var_mean = float(x.var(ddof=1)) / n if n > 1 else 0.0
    n_eff = max(n, p * (1 - p) / var_mean) if var_mean > 0 else n
    z = t_quantile(0.5 + confidence / 2, max(n - 1, 1))
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff))
    return max(0.0, centre - half), min(1.0, centre + half)


def quasi_poisson(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact Poisson (Garwood) interval of the mean count, scaled by the dispersion."""
    n, total, m = len(x), float(x.sum()), float(x.mean())
    dispersion = max(1.0, float(x.var(ddof=1)) / m) if n > 1 and m > 0 else 1.0
    effective = total / dispersion
    alpha = 1 - confidence
    stats = _stats()
    if dispersion > 1:
        # The dispersion is estimated from n replications: widen as Student t widens z, by
        # using the level at which the normal quantile equals t(n-1). Tail areas, not 1 - area:
        # with 2 replications t(1) = 12.7, whose normal tail (1e-37) is lost in 1 - area.
        alpha = 2 * stats.norm.sf(stats.t.ppf(0.5 + confidence / 2, n - 1))
    lo = stats.chi2.ppf(alpha / 2, 2 * effective) / 2 if effective > 0 else 0.0
    hi = stats.chi2.isf(alpha / 2, 2 * effective + 2) / 2
    return float(lo * dispersion / n), float(hi * dispersion / n)


def t_interval(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    m = float(x.mean())
    if len(x) < 2 or np.all(x == x[0]):
        return m, m
    stats = _stats()
    lo, hi = stats.t.interval(confidence, len(x) - 1, loc=m, scale=stats.sem(x))
    return float(lo), float(hi)


def mean_t(values, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Mean and Student t interval, NaNs left out: for differences, which have no range to keep to."""
    x = _clean(values)
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    return (float(x.mean()), *t_interval(x, confidence))


def bootstrap_mean(x: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    res = _stats().bootstrap((x,), np.mean, confidence_level=confidence, method="BCa", n_resamples=4999,
                          rng=np.random.default_rng(BOOTSTRAP_SEED))
    lo, hi = res.confidence_interval
    if not (np.isfinite(lo) and np.isfinite(hi)):  # BCa is undefined for some degenerate samples
        lo, hi = np.quantile(res.bootstrap_distribution, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Difference:
    mean: float
    low: float
    high: float
    p_value: float
    method: str


def paired_difference(a, b, confidence: float = CONFIDENCE) -> Difference:
    """Mean of b - a over replications paired by index, its t interval and the t-test p-value."""
    d = _clean(np.asarray(b, dtype=float) - np.asarray(a, dtype=float))
    if len(d) == 0:
        return Difference(math.nan, math.nan, math.nan, math.nan, "none")
    m = float(d.mean())
    if np.all(d == d[0]):
        # No spread: either no change at all, or a deterministic shift (an input).
        return Difference(m, m, m, 1.0 if m == 0 else 0.0, "constant")
    lo, hi = t_interval(d, confidence)
    p = float(_stats().ttest_1samp(d, 0.0).pvalue)
    return Difference(m, lo, hi, p, "t")


def adjust_p_values(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = _stats().false_discovery_control(p[ok], method="bh")
    return out


def t_quantile(q, df):
    """Student t's quantile ``q`` with ``df`` degrees of freedom (arrays welcome)."""
    return _stats().t.ppf(q, df)


def _stats():
    """scipy.stats, imported when an interval is first computed: it takes ~0.9 s to import, and a
    one-replication run (or a worker process) computes none."""
    from scipy import stats

    return stats


def method_name(method: str, lang: str = "en") -> str:
    return METHOD_NAMES[method][0 if lang == "zh" else 1]


def _clean(values) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    return x[~np.isnan(x)]
