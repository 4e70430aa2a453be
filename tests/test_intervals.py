"""Confidence intervals that respect the KPI's range, chosen by its unit, with honest coverage."""

import numpy as np
import pytest

from sim import intervals
from sim.intervals import interval


def test_a_share_near_one_stays_below_one_where_a_t_interval_does_not():
    x = np.array([1.0, 0.998, 1.0, 0.990, 1.0])
    lo, hi = intervals.t_interval(x)
    assert hi > 1  # the naive interval leaves the range: the test below means something
    ci = interval(x, "on_time_standard")
    assert ci.method == "wilson"
    assert 0 <= ci.low < ci.mean < ci.high <= 1


def test_a_count_near_zero_stays_above_zero_where_a_t_interval_does_not():
    x = np.array([0, 0, 1, 0, 0, 0, 2, 0, 0, 0])
    lo, hi = intervals.t_interval(x)
    assert lo < 0
    ci = interval(x, "exits_party_workers")
    assert ci.method == "poisson"
    assert 0 <= ci.low < ci.mean < ci.high


def test_no_exits_in_any_replication_still_leaves_room_above_zero():
    ci = interval(np.zeros(10), "exits_police")
    # exact Poisson: upper bound of a total of 0 is chi2(0.975, 2)/2 = 3.689, over 10 replications
    assert ci.low == 0 and ci.high == pytest.approx(0.3689, abs=1e-4)


def test_non_negative_hours_crossing_zero_use_the_bootstrap_and_stay_non_negative():
    x = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 12.0])
    ci = interval(x, "overtime_hours_police")
    assert ci.method == "bootstrap"
    assert 0 <= ci.low <= ci.mean <= ci.high


def test_method_follows_the_unit_in_the_label_table():
    rng = np.random.default_rng(1)
    assert interval(rng.normal(5, 1, 10), "wait_mean_days").method == "t"
    assert interval(np.full(5, 8.0), "staff_party_workers").method == "fixed"
    assert interval(np.full(5, 8.0), "staff_total") == intervals.Interval(8.0, 8.0, 8.0, "fixed")
    assert interval(rng.uniform(0.6, 0.7, 10), "resident_satisfaction").method == "wilson"
    assert interval(rng.poisson(5000, 10), "cases_arrived").method == "poisson"
    assert interval([np.nan, np.nan], "cases_arrived").method == "none"


@pytest.mark.parametrize("kpi, value", [("on_time_resident", 0.93), ("cases_arrived", 104.0), ("wait_mean_days", 1.2)])
def test_one_replication_gives_no_interval_rather_than_a_point(kpi, value):
    """One replication says nothing of how far another would land: no interval, said so."""
    ci = interval([value], kpi)
    assert ci.mean == value and np.isnan(ci.low) and np.isnan(ci.high) and ci.method == "single"
    assert interval([8.0], "staff_party_workers") == intervals.Interval(8.0, 8.0, 8.0, "fixed")  # an input is known


def _coverage(make_sample, kpi, truth, trials=2000, seed=20151):
    """Share of seeded trials whose interval holds the true mean."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(trials):
        ci = interval(make_sample(rng), kpi)
        hits += ci.low <= truth <= ci.high
    return hits / trials


# Tolerance: 2000 trials give a Monte Carlo standard error of 0.005 at 95% coverage, so a 95%
# interval must cover at least 0.93 (four standard errors below nominal).
@pytest.mark.parametrize("p", [0.97, 0.995])
def test_wilson_covers_a_share_near_one(p):
    # 10 replications, each the share of 400 cases closed on time
    cover = _coverage(lambda rng: rng.binomial(400, p, 10) / 400, "on_time_standard", p)
    assert cover >= 0.93


@pytest.mark.parametrize("mean", [0.2, 3.0])
def test_exact_poisson_covers_a_count_near_zero(mean):
    cover = _coverage(lambda rng: rng.poisson(mean, 10), "exits_police", mean)
    assert cover >= 0.93


def test_overdispersed_counts_are_covered_too():
    # negative binomial with mean 4 and variance 12: Poisson alone would undercover
    n, p = 2.0, 1 / 3
    cover = _coverage(lambda rng: rng.negative_binomial(n, p, 10), "cases_open_at_end", n * (1 - p) / p)
    assert cover >= 0.93


def test_overdispersed_counts_of_two_replications_have_a_finite_interval():
    """With 2 replications t(1) = 12.7; the interval once came out [0, inf] (its tail area was
    lost to rounding) for every overdispersed count — cases closed, open at the end."""
    for counts in (np.array([3100.0, 3563.0]), np.array([40.0, 63.0])):  # variance/mean 32 and 5.1
        low, high = intervals.quasi_poisson(counts)
        assert 0 < low < counts.mean() < high < np.inf, (counts, low, high)
        # the t(1)-widened interval is wider than the z one, and than with a third replication
        z_low, z_high = _garwood(counts)
        assert low < z_low and high > z_high
        three = np.append(counts, counts.mean())
        assert intervals.quasi_poisson(three)[1] < high


def _garwood(x, z=1.959963984540054):
    """The same interval with the dispersion taken as known (normal quantile z, not t)."""
    from scipy import stats

    d = max(1.0, x.var(ddof=1) / x.mean())
    alpha = 2 * stats.norm.sf(z)
    e = x.sum() / d
    return stats.chi2.ppf(alpha / 2, 2 * e) / 2 * d / len(x), stats.chi2.isf(alpha / 2, 2 * e + 2) / 2 * d / len(x)


def test_paired_difference_and_benjamini_hochberg():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    d = intervals.paired_difference(a, a + np.array([0.9, 1.1, 1.0, 1.0]))
    assert d.mean == pytest.approx(1.0) and d.low < 1.0 < d.high and d.p_value < 0.001
    same = intervals.paired_difference(a, a)
    assert (same.mean, same.p_value, same.method) == (0.0, 1.0, "constant")
    # Benjamini & Hochberg (1995): p_(i) * m / i over m = 4 tests (NaN is no test), made monotone
    # from the top: sorted 0.01, 0.03, 0.04, 0.5 -> 0.04, 0.06, 0.0533, 0.5 -> 0.04, 0.0533, 0.0533, 0.5
    adjusted = intervals.adjust_p_values([0.01, 0.04, 0.03, np.nan, 0.5])
    assert adjusted[:3] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3])
    assert np.isnan(adjusted[3]) and adjusted[4] == pytest.approx(0.5)


def test_the_chinese_names_of_the_methods_are_set_with_full_width_brackets():
    """The annex's method column read 'Wilson(有效样本量)' and '精确泊松(过度离散校正)' in Chinese."""
    from test_sweep_helpers import ASCII_PUNCTUATION_BY_CJK

    zh = [intervals.method_name(m, "zh") for m in intervals.METHOD_NAMES]
    assert [n for n in zh if ASCII_PUNCTUATION_BY_CJK.search(n)] == []
    assert intervals.method_name("wilson", "zh") == "Wilson（有效样本量）"
    assert intervals.method_name("wilson", "en") == "Wilson (effective n)"
