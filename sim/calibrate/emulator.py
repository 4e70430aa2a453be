"""Gaussian-process emulators (scikit-learn) of each observed quantity over the parameter space,
and the implausibility of history matching.

One emulator per observed row is fitted to every run (each replication its own row), with a
white-noise term: its fitted level is the run-to-run noise of the simulation, and the rest of the
predictive variance is the emulator's own uncertainty between design points. Implausibility is

    I(θ) = |z − E[f(θ)]| / sqrt(Var_obs + Var_discrepancy + Var_noise(θ) + Var_emulator(θ))

(Craig, Goldstein et al. 1997; Vernon et al. 2010; Andrianakis et al. 2015 for stochastic models).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

# What one prediction holds at once: scikit-learn's predict with return_std keeps four arrays of
# (candidates, runs fitted on) 8-byte numbers (tracemalloc peak 4.00 x M x N x 8 bytes, measured at
# N 500-2000, scikit-learn 1.9). So candidates are predicted in chunks of this size: 1,000,000 at
# once on 1,000 runs held 32 GB.
PREDICT_BYTES = 256 * 2**20


@dataclass
class Emulator:
    gp: object | None  # sklearn GaussianProcessRegressor, or None when the quantity never varied
    constant: float
    noise_var: float  # run-to-run variance of one simulation, as the white-noise term fitted it

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of one run's value at ``u`` (emulator uncertainty + run-to-run noise)."""
        if self.gp is None:
            return np.full(len(u), self.constant), np.full(len(u), self.noise_var)
        step = max(1, PREDICT_BYTES // (4 * 8 * len(self.gp.X_train_)))
        parts = [self.gp.predict(u[i : i + step], return_std=True) for i in range(0, len(u), step)]
        mean, sd = (np.concatenate(p) for p in zip(*parts))
        return mean, np.maximum(sd**2, self.noise_var)


def fit(u: np.ndarray, y: np.ndarray, seed: int) -> Emulator:
    """A GP with ARD squared-exponential kernel plus white noise, on the unit cube."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    ok = np.isfinite(y)
    u, y = u[ok], y[ok]
    if len(y) == 0:
        return Emulator(None, np.nan, np.nan)
    spread = float(np.var(y))
    if spread <= 1e-24 * max(1.0, float(np.mean(y)) ** 2):
        return Emulator(None, float(np.mean(y)), 0.0)
    d = u.shape[1]
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.5), (0.03, 30.0)) + WhiteKernel(0.05, (1e-8, 2.0))
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(u, y)
    noise = float(gp.kernel_.k2.noise_level) * float(np.std(y)) ** 2  # normalize_y divides by np.std(y)
    return Emulator(gp, float(np.mean(y)), noise)


def implausibility(emulators: list[Emulator], u: np.ndarray, obs: np.ndarray, obs_var: np.ndarray):
    """(n, rows) implausibility, and the emulators' means and variances at ``u``."""
    means = np.empty((len(u), len(emulators)))
    vars_ = np.empty_like(means)
    for j, em in enumerate(emulators):
        means[:, j], vars_[:, j] = em.predict(u)
    imp = np.abs(obs - means) / np.sqrt(obs_var + vars_)
    return imp, means, vars_
