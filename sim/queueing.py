"""Queueing theory: the model's known answer (Erlang C) and first guesses for staffing."""

from __future__ import annotations

import math


def erlang_c(c: int, offered_load: float) -> float:
    """P(an arrival waits) in an M/M/c queue with offered load a = lambda / mu (Erlang C)."""
    if c <= 0:
        raise ValueError("c must be positive")
    if offered_load >= c:
        return 1.0
    # Erlang B by the stable recursion, then C from B.
    b = 1.0
    for k in range(1, c + 1):
        b = offered_load * b / (k + offered_load * b)
    rho = offered_load / c
    return b / (1.0 - rho + rho * b)


def mmc_mean_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue Wq = C / (c mu - lambda)."""
    if lam >= c * mu:
        return math.inf
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_queue_length(lam: float, mu: float, c: int) -> float:
    """Mean number waiting Lq = lambda Wq (Little's law)."""
    return lam * mmc_mean_wait(lam, mu, c)


def staff_for_wait(lam: float, mu: float, target_wait: float) -> int:
    """Fewest servers whose Erlang C mean wait is at most ``target_wait`` (a first guess)."""
    c = max(1, math.floor(lam / mu) + 1)
    while mmc_mean_wait(lam, mu, c) > target_wait:
        c += 1
    return c


def staff_for_delay_probability(offered_load: float, p_wait: float) -> int:
    """Fewest servers whose Erlang C P(wait) is at most ``p_wait`` (a first guess)."""
    if p_wait <= 0:
        raise ValueError("p_wait must be positive: some arrivals always wait")
    c = max(1, math.floor(offered_load) + 1)
    while erlang_c(c, offered_load) > p_wait:
        c += 1
    return c
