"""Responsibility grids: where problems arise and how patrols discover them.

Problems (components, events) arise around the clock over each grid. A problem is found by the
first patrol pass after it arose — if the grid's supervisors on duty still have reporting
capacity that day — or reported first by a resident. Undiscovered problems wait for the next day.
"""

from __future__ import annotations

import numpy as np


class Grid:
    """One responsibility grid (责任网格)."""

    def __init__(self, index):
        self.index = index
        self.pending_times = np.empty(0)  # when undiscovered problems arose
        self.pending_types = np.empty(0, dtype=np.int64)

    def discover(self, model, day, new_times, new_types, supervisors_on_duty, shift):
        """Today's discoveries: (arose, discovered, type index, by_patrol) arrays.

        ``shift`` is the supervisors' working interval today (start, end), or None.
        """
        rng = model.discovery_rng  # its own stream: the backlog's size must not shift arrivals
        cfg = model.settings.loop.discovery
        arose = np.concatenate([self.pending_times, new_times])
        types = np.concatenate([self.pending_types, new_types])
        day_start, day_end = day * 24.0, (day + 1) * 24.0
        # Residents report visible problems at a rate that rises with their trust.
        report_rate = cfg.resident_report_per_day / 24.0 * model.trust_factor()
        resident_at = np.maximum(arose, day_start) + (
            rng.exponential(1.0 / report_rate, size=len(arose)) if report_rate > 0 else np.inf
        )
        patrol_at = np.full(len(arose), np.inf)
        if supervisors_on_duty and shift is not None:
            passes = max(1, int(round(cfg.patrol_passes_per_day)))
            start, end = shift
            pass_times = start + (np.arange(passes) + 1.0) * (end - start) / passes
            k = np.searchsorted(pass_times, arose, side="left")
            seen = k < passes
            patrol_at[seen] = pass_times[k[seen]]
            # Supervisors can only file so many reports a day; the earliest seen are filed.
            capacity = int(cfg.reports_per_supervisor_per_day * supervisors_on_duty)
            order = np.argsort(patrol_at, kind="stable")
            patrol_at[order[capacity:]] = np.inf
        by_patrol = patrol_at <= resident_at
        found_at = np.minimum(patrol_at, resident_at)
        today = found_at < day_end
        self.pending_times, self.pending_types = arose[~today], types[~today]
        return arose[today], found_at[today], types[today], by_patrol[today]

    @property
    def undiscovered(self) -> int:
        return len(self.pending_times)
