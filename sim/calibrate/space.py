"""The parameter space: the unit cube the emulators and designs work in, and the scenario values
it maps to (uniform, or uniform in the logarithm for ``scale: log``)."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from sim.sweep.experiment import _schema_is_int


class Space:
    def __init__(self, ranges: dict):
        self.names = list(ranges)
        self.ranges = ranges
        self.integer = {p: _schema_is_int(p.split(".")) for p in self.names}

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_values(self, u: np.ndarray) -> np.ndarray:
        """Unit-cube rows -> scenario values (integer keys rounded)."""
        u = np.atleast_2d(u)
        out = np.empty_like(u, dtype=float)
        for j, p in enumerate(self.names):
            r = self.ranges[p]
            if r.scale == "log":
                out[:, j] = np.exp(np.log(r.min) + u[:, j] * (np.log(r.max) - np.log(r.min)))
            else:
                out[:, j] = r.min + u[:, j] * (r.max - r.min)
            if self.integer[p]:
                out[:, j] = np.round(out[:, j])
        return out

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=float))
        out = np.empty_like(values)
        for j, p in enumerate(self.names):
            r = self.ranges[p]
            if r.scale == "log":
                out[:, j] = (np.log(values[:, j]) - np.log(r.min)) / (np.log(r.max) - np.log(r.min))
            else:
                out[:, j] = (values[:, j] - r.min) / (r.max - r.min)
        return out

    def latin_hypercube(self, n: int, seed: int) -> np.ndarray:
        return qmc.LatinHypercube(d=self.dim, seed=seed).random(n)

    def uniform_in_box(self, n: int, lo: np.ndarray, hi: np.ndarray, seed: int) -> np.ndarray:
        """Space-filling candidates in a box of the unit cube (scrambled Sobol points)."""
        m = int(np.ceil(np.log2(max(n, 2))))
        pts = qmc.Sobol(d=self.dim, scramble=True, seed=seed).random_base2(m)[:n]
        return lo + pts * (hi - lo)


def maximin_subset(points: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n of ``points`` spread out: start at a random one, then keep adding the point farthest from
    those chosen (greedy maximin), so a wave covers the whole remaining region."""
    if len(points) <= n:
        return points.copy()
    rng = np.random.default_rng(seed)
    pool = points if len(points) <= 4000 else points[rng.choice(len(points), 4000, replace=False)]
    chosen = [int(rng.integers(len(pool)))]
    dist = np.linalg.norm(pool - pool[chosen[0]], axis=1)
    for _ in range(n - 1):
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.linalg.norm(pool - pool[k], axis=1))
    return pool[chosen]
