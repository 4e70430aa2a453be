"""The posterior of the parameters in the non-implausible region: importance sampling with the
emulators' Gaussian likelihood.

The region's candidates are uniform draws from the prior (uniform, or log-uniform, over the
ranges) restricted to the region; outside it at least one observed quantity is more than
``cutoff`` standard deviations away, so the likelihood there is negligible. Each candidate is
weighted by

    L(θ) = Π_j N(z_j; E[f_j(θ)], Var_obs,j + Var_discrepancy,j + Var_noise,j(θ) + Var_emulator,j(θ))

over the reconcilable rows, and the posterior sample is drawn from the candidates with those
weights. The effective sample size says how many independent draws the weights are worth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.calibrate import emulator
from sim.calibrate.history import History
from sim.calibrate.space import Space

SAMPLES = 4000


@dataclass
class Posterior:
    u: np.ndarray  # resampled draws (unit cube)
    values: np.ndarray  # the same in scenario values
    ess: float  # effective sample size of the importance weights
    candidates: int


def estimate(history: History, space: Space, obs: np.ndarray, obs_var: np.ndarray, seed: int) -> Posterior:
    active = [j for j in range(len(obs)) if j not in history.irreconcilable]
    cand = history.region
    _, mean, var = emulator.implausibility(history.emulators, cand, obs, obs_var)
    total = obs_var + var
    loglik = -0.5 * (((obs - mean) ** 2 / total) + np.log(total))
    loglik = loglik[:, active].sum(axis=1) if active else np.zeros(len(cand))
    w = np.exp(loglik - loglik.max())
    w /= w.sum()
    ess = float(1.0 / np.sum(w**2))
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(cand), size=SAMPLES, replace=True, p=w)
    u = cand[idx]
    return Posterior(u, space.to_values(u), ess, len(cand))


def summary(post: Posterior, history: History, space: Space, original: dict) -> pd.DataFrame:
    """One row per parameter: the scenario's value, prior range, region, posterior mean, median, 95% interval."""
    rows = []
    region_values = space.to_values(history.region)
    for j, p in enumerate(space.names):
        r = space.ranges[p]
        x = post.values[:, j]
        rows.append({
            "parameter": p,
            "scenario_value": original.get(p),
            "prior_min": r.min, "prior_max": r.max, "scale": r.scale,
            "region_min": float(region_values[:, j].min()), "region_max": float(region_values[:, j].max()),
            "posterior_mean": float(np.mean(x)), "posterior_median": float(np.median(x)),
            "posterior_q025": float(np.quantile(x, 0.025)), "posterior_q975": float(np.quantile(x, 0.975)),
            "calibrated_value": _rounded(float(np.median(x)), space.integer[p]),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _rounded(v: float, integer: bool):
    return int(round(v)) if integer else float(f"{v:.4g}")
