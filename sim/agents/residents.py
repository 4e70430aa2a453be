"""Residents, grouped by residential area, with vectorised state.

80,000 residents must cost little: each residential area is one Mesa agent that holds its
residents' trust as a numpy array. Nothing is done per resident per day; a day costs a few
numpy calls per area, and a resident's trust changes only when one of their cases is evaluated.
"""

from __future__ import annotations

import numpy as np
from mesa import Agent

from sim.cases import DRAWS_PER_CASE

# Intraday arrival windows (hours of the day): residents raise requests in waking hours.
PROFILE_HOURS = {"daytime": (8.0, 20.0), "office": (8.5, 17.0), "around_the_clock": (0.0, 24.0)}
NO_REQUESTS = (np.empty(0), np.empty(0, dtype=np.int64), np.empty((0, DRAWS_PER_CASE)), np.empty(0, dtype=np.int64))


class ResidentialArea(Agent):
    """A residential area (居民区): its residents and their trust in the street."""

    def __init__(self, model, index, population, grid):
        super().__init__(model)
        self.index = index
        self.grid = grid
        self.population = population
        self.trust = np.full(population, model.settings.behaviour.trust.initial, dtype=np.float64)

    def mean_trust(self) -> float:
        return float(self.trust.mean())

    def raise_requests(self, rng, day, case_type, rate_per_resident_per_day, access):
        """Requests residents raise today: (times, residents, uniforms, candidate indexes).

        Candidates arrive at the highest rate any resident could have; each is kept with
        probability ``propensity / top``, where a resident's propensity is ``access * (1 + e *
        (trust - initial))`` (Lipsky: demand rises to meet supply — better access and more trust
        bring more requests). Every candidate's attributes are drawn before thinning, so two
        scenarios share each request that both keep.
        """
        trust_cfg = self.model.settings.behaviour.trust
        e = trust_cfg.reporting_elasticity if trust_cfg.enabled else 0.0
        top = access.top * (1.0 + e * (1.0 - trust_cfg.initial))
        n = rng.poisson(rate_per_resident_per_day * self.population * top)
        if n == 0:  # most areas on most days, for a type: drawing nothing takes nothing from the stream
            return NO_REQUESTS
        who = rng.integers(self.population, size=n)
        keep_u = rng.random(n)
        lo, hi = PROFILE_HOURS[case_type.arrival_profile]
        times = day * 24.0 + rng.uniform(lo, hi, size=n)
        u = rng.random((n, DRAWS_PER_CASE))
        propensity = access.level * (1.0 + e * (self.trust[who] - trust_cfg.initial))
        kept = np.flatnonzero(keep_u * top < propensity)
        return times[kept], who[kept], u[kept], kept

    def evaluate(self, resident, satisfaction):
        """A resident's case is closed: their trust moves toward how satisfied they are."""
        t = self.model.settings.behaviour.trust
        if t.enabled:
            self.trust[resident] += t.learning_rate * (satisfaction - self.trust[resident])
