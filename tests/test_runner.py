"""sim.runner: running replications one after another in one process."""

import gc
from pathlib import Path

import numpy as np

from sim import runner, scenario
from sim.street import StreetModel

ROOT = Path(__file__).resolve().parents[1]


def test_a_process_running_street_after_street_keeps_no_earlier_street():
    """A worker process runs many streets (a city, a sweep): each run's street, a web of
    cycles, must be freed before the next, not frozen with the next run's start-up state."""
    settings = scenario.load(ROOT / "scenarios/reform_2015.yaml", ["horizon.days=3", "horizon.warmup_days=0"])
    gc.collect()
    before = sum(isinstance(o, StreetModel) for o in gc.get_objects())
    for i in range(4):
        runner.run_replication(settings, np.random.SeedSequence(i), i)
    alive = sum(isinstance(o, StreetModel) for o in gc.get_objects())
    # the last run's street may wait for the next collection; no earlier one may be left
    assert alive - before <= 1, f"{alive - before} streets of 4 runs still held"


def test_only_a_process_that_has_run_a_street_collects_before_the_next(monkeypatch):
    """The full collection before a run frees earlier runs' streets; in a process that has run
    none it would only cost time (~30 ms, 4 us a case of a 10,000-resident street-year)."""
    calls = []
    real = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *a: calls.append(a) or real(*a))
    monkeypatch.setattr(runner, "_runs_ended", 0, raising=False)
    with runner.few_collections():
        pass
    assert calls == []
    with runner.few_collections():
        pass
    assert len(calls) == 1
