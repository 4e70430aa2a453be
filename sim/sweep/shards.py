"""SLURM array shards of commands that run batch after batch (``calibrate``, ``staff``).

Each array task replays the command from the runs already stored, runs its shard of the first
batch not yet complete, and must then wait: the next batch depends on every run of this one.
Every task decides from the same stored runs, so all of them take the same next step. A task
waits at most ``seconds`` for the other shards (they may not all run at once: an array throttled
to fewer tasks than shards would otherwise wait for ever) and then stops with Pending; submitting
the array again goes on from the stored runs.
"""

from __future__ import annotations

import time
from pathlib import Path

from sim.sweep import store

POLL_SECONDS = 2.0  # how often a waiting shard reads which runs are stored (two columns per part file)


class Pending(Exception):
    """This shard's share of a batch is stored; the other shards' runs are not all stored yet."""


def wait_for_other_shards(out: Path, run_ids: set[str], seconds: float, what: str = "the current batch") -> None:
    """Return once every run of ``run_ids`` is stored in ``out``; Pending after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        missing = len(run_ids - store.finished(out, heal=False).keys())
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise Pending(f"{missing} runs of {what} are not stored by the other shards after {seconds:g} s")
        time.sleep(max(0.01, min(POLL_SECONDS, deadline - time.monotonic())))  # one last look at the deadline
