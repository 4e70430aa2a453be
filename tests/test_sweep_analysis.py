"""Sweep analysis: per-point intervals keep to each KPI's range, as compare's do."""

import json

import pandas as pd

from sim.sweep import analysis


def test_a_points_interval_for_a_share_stays_within_0_and_1(tmp_path):
    # Three replications near 1: a Student t interval reaches 1.04; a share's interval must not.
    (tmp_path / "manifest.json").write_text(json.dumps({"design": {"parameters": ["x"]},
                                                        "kpis": ["on_time_resident", "wait_mean_days"]}))
    table = pd.DataFrame({"point": [0, 0, 0], "replication": [0, 1, 2], "x": [1.0] * 3, "status": ["ok"] * 3,
                          "on_time_resident": [0.99, 0.95, 0.999], "wait_mean_days": [0.02, 0.5, 0.03]})
    row = analysis.point_summary(tmp_path, table).iloc[0]
    assert 0.0 <= row["on_time_resident_lo"] < row["on_time_resident"] < row["on_time_resident_hi"] <= 1.0
    assert 0.0 <= row["wait_mean_days_lo"] < row["wait_mean_days"] < row["wait_mean_days_hi"]  # days are not negative
    assert row["n"] == 3
