"""Responsibility grids: where problems arise, and how patrols and residents find them.

Problems (components, events) arise around the clock over each grid, each at a place along the
grid's patrol route. Patrol is work: a supervisor's pass is a job in the grid's queue, competing
with on-site checks; the pass walks its beat and files each problem it passes that arose before
it got there, spread over the pass — each report (and each on-the-spot fix) costs the supervisor
time, and a supervisor files at most ``reports_per_supervisor_per_day``. Residents report a
visible problem first with a daily rate that rises with their trust; a problem nobody finds
waits for the next pass or the next day.
"""

from __future__ import annotations

import numpy as np

from sim.cases import DRAWS_PER_CASE, SLOT, Case, duration


class Grid:
    """One responsibility grid (责任网格) and the problems in it nobody has found yet."""

    def __init__(self, model, index, areas):
        self.model = model
        self.index = index
        self.areas = areas  # residential areas in this grid (problems are attributed to one)
        self.arose = np.empty(0)
        self.kind = np.empty(0, dtype=np.int64)
        self.pos = np.empty(0)  # where along the patrol route, 0..1
        self.hazard = np.empty(0)  # unit-exponential budget left before a resident reports it
        self.resident_at = np.empty(0)  # today's resident report time (inf: not today)
        self.found = np.empty(0, dtype=bool)
        self.u = np.empty((0, DRAWS_PER_CASE))
        self.seed = np.empty((0, 3), dtype=np.int64)  # (day, grid, index) keys the case's later draws
        self.area = np.empty(0, dtype=np.int64)
        self.resident = np.empty(0, dtype=np.int64)
        self.filed_today: dict = {}  # supervisor -> reports filed today

    # -- each midnight ----------------------------------------------------------------------
    def new_day(self, day, rng, rates, report_rate_per_hour):
        """Add today's problems (drawn from the grid's day stream) and plan residents' reports."""
        self._forget_found()
        self._expose_yesterday(day, report_rate_per_hour)
        n = rng.poisson(rates)  # per grid case type
        k = int(n.sum())
        day_start = day * 24.0
        arose = day_start + rng.uniform(0.0, 24.0, size=k)
        kind = np.repeat(np.arange(len(rates)), n)
        pos = rng.random(k)
        hazard = rng.exponential(1.0, size=k)
        u = rng.random((k, DRAWS_PER_CASE))
        area = rng.integers(len(self.areas), size=k)
        resident_u = rng.random(k)
        resident = (resident_u * np.array([a.population for a in self.areas])[area]).astype(np.int64)
        seed = np.column_stack([np.full(k, day), np.full(k, self.index), np.arange(k)]) if k else np.empty((0, 3), dtype=np.int64)
        self.arose = np.concatenate([self.arose, arose])
        self.kind = np.concatenate([self.kind, kind])
        self.pos = np.concatenate([self.pos, pos])
        self.hazard = np.concatenate([self.hazard, hazard])
        self.u = np.concatenate([self.u, u])
        self.seed = np.concatenate([self.seed, seed])
        self.area = np.concatenate([self.area, area])
        self.resident = np.concatenate([self.resident, resident])
        self.found = np.zeros(len(self.arose), dtype=bool)
        # A resident reports once the problem's exposure (rate x visible hours) uses its budget.
        self._rate = report_rate_per_hour
        start = np.maximum(self.arose, day_start)
        with np.errstate(divide="ignore"):
            self.resident_at = start + (self.hazard / report_rate_per_hour if report_rate_per_hour > 0 else np.inf)
        self.resident_at[self.resident_at >= day_start + 24.0] = np.inf
        self.filed_today = {}

    def _expose_yesterday(self, day, rate):
        """Problems still unfound used part of their budget yesterday (exact for a rate per day)."""
        if len(self.arose) and getattr(self, "_rate", 0) > 0:
            start = np.maximum(self.arose, (day - 1) * 24.0)
            self.hazard = self.hazard - self._rate * np.clip(day * 24.0 - start, 0.0, None)

    def _forget_found(self):
        keep = ~self.found
        for name in ("arose", "kind", "pos", "hazard", "u", "seed", "area", "resident", "resident_at"):
            setattr(self, name, getattr(self, name)[keep])
        self.found = np.zeros(len(self.arose), dtype=bool)

    def residents_report(self):
        """SimPy process: today's residents' reports, each when it happens, if no patrol got there first."""
        env = self.model.env
        order = np.argsort(self.resident_at, kind="stable")
        for i in order[np.isfinite(self.resident_at[order])].tolist():
            t = float(self.resident_at[i])
            if t > env.now:
                yield env.timeout(t - env.now)
            if not self.found[i]:
                self.found[i] = True
                self.model.surface(self._case(i, t, "resident"))

    # -- a patrol pass (called when a supervisor starts the pass) ------------------------------
    def patrol(self, supervisor, start, share):
        """Walk the supervisor's share of the route from ``start``; return the pass's hours.

        ``share`` = (lo, hi) slice of the route this supervisor walks today.
        """
        cfg = self.model.settings.loop.discovery
        walk = cfg.patrol_pass_hours
        lo, hi = share
        seg = (self.pos >= lo) & (self.pos < hi) & ~self.found
        reach = start + (self.pos - lo) / max(hi - lo, 1e-9) * walk  # when the walker passes each spot
        seen = seg & (self.arose <= reach) & (reach < self.resident_at)
        idx = np.flatnonzero(seen)
        idx = idx[np.argsort(reach[idx], kind="stable")]
        filed = self.filed_today.get(supervisor, 0)
        idx = idx[: max(0, int(cfg.reports_per_supervisor_per_day) - filed)]
        self.filed_today[supervisor] = filed + len(idx)
        extra = 0.0  # reports and fixes add to the pass; later spots are reached later
        for i in idx.tolist():
            found_at = float(reach[i]) + extra
            self.found[i] = True
            case = self._case(i, found_at, "patrol")
            extra += duration(cfg.report, case.draw("report"))
            if case.on_spot:
                extra += duration(cfg.on_spot_fix, case.draw("fix"))
            self.model.surface(case)
        return walk + extra

    def _case(self, i, discovered, channel):
        model = self.model
        tname, ctype = model.grid_case_types[int(self.kind[i])]
        area = self.areas[int(self.area[i])]
        u = self.u[i].tolist()
        resident = -1
        if channel == "resident":
            resident = int(self.resident[i])
            channel = model.resident_channel({"committee": 1.0, "hotline": 0.0}, area, resident, u[SLOT["channel"]])
        seed = (*model.case_seed_root, 0, *self.seed[i].tolist())
        case = Case(None, tname, ctype, channel, float(self.arose[i]), discovered, area.index, self.index, resident, u, seed)
        case.on_spot = channel == "patrol" and u[SLOT["on_spot"]] < ctype.on_spot_fix_share
        return case

    @property
    def undiscovered(self) -> int:
        return int((~self.found).sum())
