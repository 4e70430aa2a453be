"""Gaussian-process emulators (scikit-learn) of each observed quantity over the parameter space,
and the implausibility of history matching.

One emulator per observed row is fitted to every run (each replication its own row), with a
white-noise term: its fitted level is the run-to-run noise of the simulation, and the rest of the
predictive variance is the emulator's own uncertainty between design points. Implausibility is

    I(θ) = |z − E[f(θ)]| / sqrt(Var_obs + Var_discrepancy + Var_noise(θ) + Var_emulator(θ))

(Craig, Goldstein et al. 1997; Vernon et al. 2010; Andrianakis et al. 2015 for stochastic models).

An emulator is checked before its cut is trusted (Vernon, Goldstein & Bower 2010; Andrianakis et
al. 2015): ``leave_one_out`` predicts each design point's runs from the runs at every other point,
and ``check`` counts the runs whose standardised error lies beyond LOO_Z predictive sd.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

# What one prediction holds at once: scikit-learn's predict with return_std keeps four arrays of
# (candidates, runs fitted on) 8-byte numbers (tracemalloc peak 4.00 x M x N x 8 bytes, measured at
# N 500-2000, scikit-learn 1.9). So candidates are predicted in chunks of this size: 1,000,000 at
# once on 1,000 runs held 32 GB.
PREDICT_BYTES = 256 * 2**20

# The emulator check: under a correct Gaussian predictive, P(|z| > 3) = 0.27%; more than 5% of a
# quantity's runs beyond 3 predictive sd of their leave-one-out prediction (18 times that) says the
# emulator misfits, its mean or its variance, and its implausibility cut is not to be used silently.
LOO_Z = 3.0
LOO_BEYOND_SHARE = 0.05
LOO_Z_NEAR = 2.0  # reported beside it: a misfit shows there first (4.6% of runs under a correct predictive)
# Fewer design points than this are not checked: with one, normalize_y's mean holds the runs left
# out themselves (each "predicted" within ~1 sd by construction); with two, each is predicted from
# the other alone, which says nothing of the fit between points.
LOO_MIN_POINTS = 3
BEYOND, BEYOND_NEAR = f"share_abs_z_over_{LOO_Z:g}", f"share_abs_z_over_{LOO_Z_NEAR:g}"  # emulator_check.csv
CHECKED = ("passed", "failed")  # a Check's status when the check was made (see Check)


def expected_beyond(z: float) -> float:
    """P(|Z| > z) for a standard normal Z: the share of runs beyond z sd under a correct predictive."""
    from scipy.stats import norm

    return float(2 * norm.sf(z))


@dataclass
class Emulator:
    gp: object | None  # sklearn GaussianProcessRegressor, or None when the quantity never varied
    constant: float
    noise_var: float  # run-to-run variance of one simulation, as the white-noise term fitted it
    y_std: float = 1.0  # normalize_y's scale: the GP works on (y - constant) / y_std

    def predict(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of one run's value at ``u`` (emulator uncertainty + run-to-run noise)."""
        if self.gp is None:
            return np.full(len(u), self.constant), np.full(len(u), self.noise_var)
        step = max(1, PREDICT_BYTES // (4 * 8 * len(self.gp.X_train_)))
        parts = [self.gp.predict(u[i : i + step], return_std=True) for i in range(0, len(u), step)]
        mean, sd = (np.concatenate(p) for p in zip(*parts))
        return mean, np.maximum(sd**2, self.noise_var)


def fit(u: np.ndarray, y: np.ndarray, seed: int, kernel=None) -> Emulator:
    """A GP with ARD squared-exponential kernel plus white noise, on the unit cube (or ``kernel``,
    of the same form: constant x RBF + white noise; fixed bounds keep its hyperparameters)."""
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
    if kernel is None:
        kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.full(d, 0.5), (0.03, 30.0)) + WhiteKernel(0.05, (1e-8, 2.0))
    gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=2, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gp.fit(u, y)
    noise = float(gp.kernel_.k2.noise_level) * float(np.std(y)) ** 2  # normalize_y divides by np.std(y)
    return Emulator(gp, float(np.mean(y)), noise, float(np.std(y)))


@dataclass
class LeaveOneOut:
    """Each run the emulator was fitted to, predicted from the runs at every other design point."""

    point: np.ndarray  # the run's design point (runs at the same parameter values are one point)
    y: np.ndarray  # what the run gave
    mean: np.ndarray  # its prediction
    var: np.ndarray  # the prediction's variance (emulator uncertainty + run-to-run noise, as predict)

    @property
    def z(self) -> np.ndarray:
        """Standardised errors: (prediction - run) / predictive sd."""
        return (self.mean - self.y) / np.sqrt(self.var)


def leave_one_out(em: Emulator) -> LeaveOneOut | None:
    """Leave-one-point-out predictions with the hyperparameters (and normalize_y's shift and scale)
    as fitted: a point's replications are left out together, so a run is not predicted from its
    twin at the same parameter values. The closed form of Rasmussen & Williams (2006) eq. 5.12, for
    a block B of runs, with K the fitted kernel (white noise included) over every run:

        mean_B = y_B - ([K^-1]_BB)^-1 [K^-1 y]_B,   Cov_B = ([K^-1]_BB)^-1

    the GP's prediction at B refitted without B (tests/test_calibrate.py checks it against that
    refit). It holds three N x N arrays for a moment, below the fit's peak (sim.calibrate.observed
    .memory_needed). None when the quantity never varied (no GP)."""
    from scipy.linalg import cho_factor, cho_solve

    if em.gp is None:
        return None
    gp = em.gp
    x, yn = gp.X_train_, np.asarray(gp.y_train_, dtype=float)  # normalize_y: y_train_ is (y - mean) / y_std
    k = gp.kernel_(x)
    k[np.diag_indices_from(k)] += gp.alpha  # as the fit's own Cholesky factor
    k_inv = cho_solve(cho_factor(k, lower=True), np.eye(len(x)))
    a = k_inv @ yn
    _, point = np.unique(x, axis=0, return_inverse=True)
    point = point.ravel()
    mean, var = np.empty(len(x)), np.empty(len(x))
    for p in range(point.max() + 1):
        b = np.flatnonzero(point == p)
        cov = np.linalg.inv(k_inv[np.ix_(b, b)])
        mean[b] = yn[b] - cov @ a[b]
        var[b] = np.diag(cov)
    y = yn * em.y_std + em.constant  # constant: the runs' mean, normalize_y's shift
    return LeaveOneOut(point, y, mean * em.y_std + em.constant, np.maximum(var * em.y_std**2, em.noise_var))


@dataclass
class Check:
    """One emulator's leave-one-out check (``check``). ``status``: passed or failed (CHECKED), or
    not checked: ``constant`` (every run gave one value: nothing to emulate), ``no_runs`` (no run
    gave a number), ``too_few_points`` (fewer than LOO_MIN_POINTS design points)."""

    status: str
    runs: int = 0
    points: int = 0
    beyond_near: float = math.nan  # share of runs with |z| > LOO_Z_NEAR
    beyond: float = math.nan  # share with |z| > LOO_Z; failed: more than LOO_BEYOND_SHARE
    max_abs_z: float = math.nan
    mean_z: float = math.nan  # a bias: predictions above (+) or below (-) the runs on average

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def row(self, **where) -> dict:
        """A row of emulator_check.csv (``where``: its wave and quantity)."""
        return {**where, "status": self.status, "runs": self.runs, "points": self.points, BEYOND_NEAR: self.beyond_near,
                BEYOND: self.beyond, "max_abs_z": self.max_abs_z, "mean_z": self.mean_z, "failed": self.failed}


def check(em: Emulator) -> tuple[Check, LeaveOneOut | None]:
    """The emulator's check (the shares of runs beyond LOO_Z_NEAR and LOO_Z sd, the largest |z|, the
    mean z) and the leave-one-out predictions it rests on (None without a GP)."""
    loo = leave_one_out(em)
    if loo is None:
        return Check("no_runs" if em.constant != em.constant else "constant"), None
    z, points = loo.z, int(loo.point.max()) + 1
    if points < LOO_MIN_POINTS:
        return Check("too_few_points", len(z), points), loo
    beyond = float(np.mean(np.abs(z) > LOO_Z))
    return Check("failed" if beyond > LOO_BEYOND_SHARE else "passed", len(z), points, float(np.mean(np.abs(z) > LOO_Z_NEAR)),
                 beyond, float(np.max(np.abs(z))), float(np.mean(z))), loo  # fmt: skip


def implausibility(emulators: list[Emulator], u: np.ndarray, obs: np.ndarray, obs_var: np.ndarray):
    """(n, rows) implausibility, and the emulators' means and variances at ``u``."""
    means = np.empty((len(u), len(emulators)))
    vars_ = np.empty_like(means)
    for j, em in enumerate(emulators):
        means[:, j], vars_[:, j] = em.predict(u)
    imp = np.abs(obs - means) / np.sqrt(obs_var + vars_)
    return imp, means, vars_
