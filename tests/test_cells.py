"""One way to write a number, a 95% CI and a value that cannot be given (sim.cells), in the
table's language: a Chinese table never says "n/a" (it said so in every table before)."""

import math
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim import cells, compare
from sim.calibrate import outputs as calibration_outputs
from sim.report import annex
from sim.staffing import output as staffing_output
from sim.staffing.targets import Target

LATIN = re.compile(r"[A-Za-z]")


def test_a_missing_value_reads_in_each_language():
    assert cells.missing("en") == "n/a"
    assert cells.missing("zh") and not LATIN.search(cells.missing("zh"))
    for lang in ("zh", "en"):
        assert cells.number(math.nan, lang) == cells.missing(lang)
        assert cells.percent(math.nan, lang) == cells.missing(lang)
        assert cells.ci_cell(math.nan, math.nan, lang) == cells.missing(lang)
    assert cells.ci_cell(0.8123, 0.93456) == "[0.812, 0.935]"
    assert cells.ci_cell(-1.5, 2, signed=True) == "[-1.5, +2]"
    assert cells.number(123456.7) == "123,457" and cells.number(0.00123) == "0.0012"


def _with_gaps(reps=6, seed=5) -> dict[str, pd.DataFrame]:
    """Two scenarios where a table must say 'cannot be given': a KPI only the baseline has, and
    one whose baseline mean is 0 (no relative change)."""
    rng = np.random.default_rng(seed)
    base = pd.DataFrame({"replication": range(reps), "wait_mean_days": rng.gamma(25, 0.1, reps),
                         "exits_party_workers": 0.0, "type_wait_hours_mediation": rng.gamma(9, 1, reps)})
    variant = base.drop(columns="type_wait_hours_mediation").assign(
        wait_mean_days=base["wait_mean_days"] * 1.3, exits_party_workers=rng.poisson(2, reps).astype(float))
    return {"base": base, "variant": variant}


def _cells(blocks) -> list[str]:
    return [c for b in blocks if b["type"] == "table" for row in b["rows"] for c in row]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_annex_and_the_terminal_say_missing_in_their_language(lang):
    cmp = compare.comparison_table(_with_gaps())
    shown = _cells(annex.all_kpi_blocks(cmp, lang) + annex.headline_blocks(cmp, lang))
    assert cells.missing(lang) in shown  # the KPI the variant lacks
    text = compare.format_comparison(cmp, show_all=True, lang=lang)
    assert cells.missing(lang) in text  # the relative change against a mean of 0
    if lang == "zh":
        assert not any("n/a" in c for c in shown) and "n/a" not in text


def _plan_with_an_undecided_target():
    """What the staffing report tables read of a plan: its answer checked on one target whose
    interval could not be computed."""
    target = Target("on_time_resident", ">=", 0.9)
    check = SimpleNamespace(mean=0.95, ci_low=math.nan, ci_high=math.nan, decision="undecided", n=2)
    answer = SimpleNamespace(checks={str(target): check})
    return SimpleNamespace(targets=[target], result=SimpleNamespace(chosen=answer, cheaper={}))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_staffing_and_calibration_tables_say_missing_in_their_language(lang):
    targets = staffing_output.report_targets_table(_plan_with_an_undecided_target(), lang)
    posterior = calibration_outputs.report_posterior_table(pd.DataFrame([{
        "parameter": "loop.discovery.resident_report_per_day", "scenario_value": 0.07, "prior_min": 0.01,
        "prior_max": 0.3, "scale": "log", "region_min": math.nan, "region_max": math.nan,  # no region left
        "calibrated_value": 0.05, "posterior_q025": 0.02, "posterior_q975": 0.1}]), lang)
    shown = [str(v) for t in (targets, posterior) for v in t.to_numpy().ravel()]
    assert shown.count(cells.missing(lang)) == 2, shown
    if lang == "zh":
        assert not any("n/a" in c for c in shown), shown


def test_the_terminal_prints_four_significant_figures_from_one_place():
    """The district's per-street table and the staffing answer print numbers alike (each had its own copy)."""
    from sim import cli

    assert cells.terminal_number(0.90049) == "0.9005"  # a mean just over a 0.9 target shows its margin
    assert cells.terminal_number(12345.6) == "12,346" and cells.terminal_number(math.nan) == "n/a"
    assert not hasattr(cli, "_fmt") and not hasattr(staffing_output, "fmt")


def test_a_design_value_reads_in_the_tables_language():
    """A swept yes/no printed True/False in a Chinese annex and legend (devolved_task_load sweeps
    gatekeeping: [true, false]); numbers rounded as every cell."""
    import numpy as np

    from sim.cells import value

    assert [value(v, "zh") for v in (True, np.bool_(False), np.float64(150.0), 2.2402846, "lognormal")] == [
        "是", "否", "150", "2.24", "lognormal"]
    assert [value(v, "en") for v in (True, np.int64(11))] == ["yes", "11"]


def test_terminal_columns_are_padded_and_cut_by_display_width():
    """A Chinese character takes two terminal columns: padded by characters, a Chinese header ran
    past its column and the rows under it did not line up."""
    from sim.cells import cut, display_width, pad

    assert pad("观测量", 10) == "观测量    " and display_width(pad("观测量", 10)) == 10
    assert pad("ok", 5, right=True) == "   ok"
    assert cut("巡查发现占比", 5) == "巡查" and cut("quantity", 4) == "quan"
    assert pad("过长的名称", 4) == "过长的名称"  # never cut by padding
