"""Grid supervisors: patrol their responsibility grid, fix minor problems, verify closures."""

from __future__ import annotations

from sim.agents.workers import Worker


class GridSupervisor(Worker):
    """Patrols one grid on shift (see :mod:`sim.grids`) and serves the on-site checks queue."""

    def __init__(self, model, team, line, calendar):
        super().__init__(model, team, line, calendar)
        # Supervisors are split over the grids; with one pooled line they still patrol one grid.
        self.grid = len(team.workers) % model.settings.street.grids

    @property
    def on_patrol(self) -> bool:
        return not self.gone and self.absent_until <= self.model.env.now and self.job is None
