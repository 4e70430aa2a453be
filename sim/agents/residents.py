"""Residents, grouped by residential area, with vectorised state.

80,000 residents must cost little: each residential area is one Mesa agent that holds its
residents' trust as a numpy array (a slice of the street's). Nothing is done per resident per
day; a day's requests of a type cost a few numpy calls for all areas together, and a resident's
trust changes only when one of their cases is evaluated.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from mesa import Agent

from sim.cases import DRAWS_PER_CASE

# Intraday arrival windows (hours of the day): residents raise requests in waking hours.
PROFILE_HOURS = {"daytime": (8.0, 20.0), "office": (8.5, 17.0), "around_the_clock": (0.0, 24.0)}


class ResidentialArea(Agent):
    """A residential area (居民区): its residents and their trust in the street."""

    def __init__(self, model, index, population, grid, trust):
        super().__init__(model)
        self.index = index
        self.grid = grid
        self.population = population
        self.trust = trust  # its residents' slice of the street's trust (a view: writes go through)

    def mean_trust(self) -> float:
        return float(self.trust.mean())

    def evaluate(self, resident, satisfaction):
        """A resident's case is closed: their trust moves toward how satisfied they are."""
        t = self.model.settings.behaviour.trust
        if t.enabled:
            self.trust[resident] += t.learning_rate * (satisfaction - self.trust[resident])


class Residents:
    """All the street's residents, area after area: each area's population, the index of its
    first resident, and everyone's trust in one array (each area holds a view of its part)."""

    __slots__ = ("populations", "first", "trust")

    def __init__(self, populations, initial_trust):
        self.populations = np.array(populations)
        self.first = np.cumsum(self.populations) - self.populations
        self.trust = np.full(int(self.populations.sum()), initial_trust, dtype=np.float64)

    def of_area(self, i) -> np.ndarray:
        return self.trust[self.first[i]:self.first[i] + self.populations[i]]


def build_areas(model, populations, grids) -> tuple[list[ResidentialArea], Residents]:
    """The street's areas, and all its residents (their trust in one array)."""
    residents = Residents(populations, model.settings.behaviour.trust.initial)
    areas = [ResidentialArea(model, i, n, g, residents.of_area(i)) for i, (n, g) in enumerate(zip(populations, grids))]
    return areas, residents


def raise_requests(rng, day, case_type, rate_per_resident_per_day, access, trust_cfg, residents):
    """Requests of one type the residents of every area raise today, area after area.

    Returns a namespace of arrays ``times, areas, residents, u, candidate``: for each kept
    request, its area, the resident (index within the area), its uniforms and the candidate's
    index within its area.
    Candidates arrive at the highest rate any resident could have; each is kept with
    probability ``propensity / top``, where a resident's propensity is ``access * (1 + e *
    (trust - initial))`` (Lipsky: demand rises to meet supply — better access and more trust
    bring more requests). Every candidate's attributes are drawn before thinning, so two
    scenarios share each request that both keep.
    """
    e = trust_cfg.reporting_elasticity if trust_cfg.enabled else 0.0
    top = access.top * (1.0 + e * (1.0 - trust_cfg.initial))
    populations = residents.populations
    n = rng.poisson(rate_per_resident_per_day * populations * top)  # candidates in each area
    area = np.repeat(np.arange(len(populations)), n)
    who = rng.integers(0, populations[area])
    keep_u = rng.random(len(area))
    lo, hi = PROFILE_HOURS[case_type.arrival_profile]
    times = day * 24.0 + rng.uniform(lo, hi, size=len(area))
    u = rng.random((len(area), DRAWS_PER_CASE))
    propensity = access.level * (1.0 + e * (residents.trust[residents.first[area] + who] - trust_cfg.initial))
    kept = np.flatnonzero(keep_u * top < propensity)
    candidate = np.arange(len(area)) - np.repeat(np.cumsum(n) - n, n)
    return SimpleNamespace(times=times[kept], areas=area[kept], residents=who[kept], u=u[kept],
                           candidate=candidate[kept])
