"""Grid supervisors: patrol their responsibility grid, fix minor problems, verify closures."""

from __future__ import annotations

from sim.agents.workers import Worker


class GridSupervisor(Worker):
    """Walks patrol passes of one grid on shift (see :mod:`sim.grids`) and makes on-site checks, from one queue."""

    def __init__(self, model, team, line, calendar):
        super().__init__(model, team, line, calendar)
        # Each supervisor patrols one grid: the one with the fewest supervisors (a new hire fills
        # the grid a leaver left).
        staffed = [0] * model.settings.street.grids
        for w in team.workers:
            staffed[w.grid] += 1
        self.grid = staffed.index(min(staffed))

    @property
    def on_patrol(self) -> bool:
        """Walking a patrol pass now (patrol is a job in the grid's queue, like an on-site check)."""
        return self.job is not None and self.job.patrol is not None
