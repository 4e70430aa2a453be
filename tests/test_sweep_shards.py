"""sim.sweep.shards: an array shard waits for the other shards' runs of a batch, for a bounded time.

The commands built on it (calibrate, staff) are tested on a real SLURM array in test_calibrate.py
and test_staffing.py."""

import threading
import time

import pandas as pd
import pytest

from sim.sweep import shards, store


def _store(out, run_ids, status="ok"):
    rows = pd.DataFrame({"run_id": run_ids, "status": status, "error": None, "seconds": 0.1})
    store.write_part(out, f"part-{'-'.join(run_ids)}", rows)


def test_returns_once_another_shard_has_stored_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "POLL_SECONDS", 0.05)
    _store(tmp_path, ["a", "b"])
    later = threading.Timer(0.3, _store, (tmp_path, ["c"], "failed"))  # a failed run is finished too
    later.start()
    t0 = time.monotonic()
    shards.wait_for_other_shards(tmp_path, {"a", "b", "c"}, seconds=10)
    assert 0.25 < time.monotonic() - t0 < 5
    later.join()


def test_stops_after_the_wait_naming_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "POLL_SECONDS", 0.05)
    _store(tmp_path, ["a"])
    t0 = time.monotonic()
    with pytest.raises(shards.Pending, match="^2 runs of wave-1 are not stored by the other shards after 0.5 s$"):
        shards.wait_for_other_shards(tmp_path, {"a", "b", "c"}, seconds=0.5, what="wave-1")
    assert 0.5 <= time.monotonic() - t0 < 3
