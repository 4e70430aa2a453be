"""The street's map on a Mesa discrete space, and where everyone is on it.

Responsibility grids are blocks of cells of an ``OrthogonalMooreGrid``; each residential area is
a smaller block inside its grid's block. Positions are view state only: the street model knows
which grid or area a worker or a case belongs to, not where on it they stand. The view draws its
own random numbers, so watching the street never changes what happens in it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from mesa.discrete_space import OrthogonalMooreGrid

AREA_CELLS = 5  # cells along each side of a residential area's block
PATROL_MOVES_PER_DAY = 3  # Moore steps a supervisor on patrol takes between two frames
_GOLDEN = 2654435761  # Knuth's multiplicative hash: spreads case ids over an area's cells


@dataclass
class Zone:
    """A block of cells: a responsibility grid or a residential area."""

    kind: str  # "grid" or "area"
    index: int
    grid: int
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int

    @property
    def centre(self) -> tuple[int, int]:
        return (self.x0 + self.x1 - 1) // 2, (self.y0 + self.y1 - 1) // 2

    def cells(self):
        return [(x, y) for y in range(self.y0, self.y1) for x in range(self.x0, self.x1)]


def _shape(n: int) -> tuple[int, int]:
    """Columns and rows to lay ``n`` blocks out about square (a row when there are few)."""
    cols = n if n <= 3 else math.ceil(math.sqrt(n))
    return cols, math.ceil(n / cols)


class StreetMap:
    """Zones of one street on an ``OrthogonalMooreGrid`` and the positions of its agents."""

    def __init__(self, model, seed: int = 0):
        self.model = model
        self.random = random.Random(seed)  # the view's own stream, not the model's
        areas_by_grid = [[a for a in model.areas if a.grid == g.index] for g in model.grids]
        a_cols, a_rows = _shape(max(1, *(len(a) for a in areas_by_grid)))
        block_w, block_h = a_cols * AREA_CELLS, a_rows * AREA_CELLS
        g_cols, g_rows = _shape(len(model.grids))
        self.width, self.height = g_cols * block_w, g_rows * block_h
        self.space = OrthogonalMooreGrid((self.width, self.height), torus=False, random=self.random)
        self.grid_zones: list[Zone] = []
        self.area_zones: dict[int, Zone] = {}
        for g, areas in enumerate(areas_by_grid):
            gx, gy = (g % g_cols) * block_w, (g // g_cols) * block_h
            self.grid_zones.append(Zone("grid", g, g, gx, gy, gx + block_w, gy + block_h))
            for k, area in enumerate(areas):
                ax, ay = gx + (k % a_cols) * AREA_CELLS, gy + (k // a_cols) * AREA_CELLS
                self.area_zones[area.index] = Zone("area", area.index, g, ax, ay, ax + AREA_CELLS, ay + AREA_CELLS)
        self._grid_cells = {z.index: set(z.cells()) for z in self.grid_zones}
        self._area_cells = {i: z.cells() for i, z in self.area_zones.items()}
        self.office = (self.width // 2, self.height // 2)  # street office: grid centre, squads' base
        self.patrol: dict[int, tuple[int, int]] = {}  # supervisor id -> cell

    # -- where things are -------------------------------------------------------------------
    def case_cell(self, case) -> tuple[int, int]:
        """A fixed cell in the case's residential area (or its grid, if it has no area)."""
        cells = self._area_cells.get(case.area)
        if not cells:
            cells = sorted(self._grid_cells.get(case.grid) or self._grid_cells[0])
        return cells[(case.id * _GOLDEN) % len(cells)]

    def committee_offices(self):
        """One residents' committee office per residential area, at the area's centre."""
        return [(i, z.centre) for i, z in sorted(self.area_zones.items())]

    def supervisor_cell(self, worker) -> tuple[int, int]:
        job = getattr(worker, "job", None)
        if job is not None and job.case is not None:
            return self.case_cell(job.case)  # on site: an on-site check
        return self.patrol.get(worker.unique_id) or self.grid_zones[self._grid_of(worker)].centre

    def unit_cell(self, worker, slot: int, team_size: int) -> tuple[int, int]:
        """An enforcement officer: on site if on a case, else at a post where the unit works.

        A unit with one officer per residential area (community police) has one in each area;
        other units' officers are spread over the grids, each at a fixed cell of its grid.
        """
        job = getattr(worker, "job", None)
        if job is not None and job.case is not None:
            return self.case_cell(job.case)
        if team_size == len(self.area_zones):
            cells = self._area_cells[sorted(self.area_zones)[slot]]
        else:
            cells = sorted(self._grid_cells[slot % len(self.grid_zones)])
        return cells[(worker.unique_id * _GOLDEN) % len(cells)]

    def _grid_of(self, worker) -> int:
        return getattr(worker, "grid", 0) % len(self.grid_zones)

    # -- patrol -----------------------------------------------------------------------------
    def move_patrols(self, supervisors):
        """Supervisors on duty walk a few Moore steps, staying inside their own grid."""
        for w in supervisors:
            grid = self._grid_of(w)
            here = self.patrol.get(w.unique_id)
            if here is None:
                here = self.random.choice(sorted(self._grid_cells[grid]))
            if not getattr(w, "gone", False) and getattr(w, "absent_until", -1.0) <= self.model.env.now:
                for _ in range(PATROL_MOVES_PER_DAY):
                    options = [c.coordinate for c in self.space[here].neighborhood if c.coordinate in self._grid_cells[grid]]
                    if options:
                        here = self.random.choice(sorted(options))
            self.patrol[w.unique_id] = here
