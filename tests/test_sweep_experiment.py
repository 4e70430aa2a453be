"""Experiment files: checks before anything runs, designs, rounding, figures, shipped experiments."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_sweep_helpers import MMC, ROOT, raw_run_ids, write_experiment

from sim import cli
from sim.scenario import ScenarioError
from sim.sweep import experiment, store
from sim.sweep.run import run_sweep

BAD = {
    "unknown top-level key": ({"replicatons": 3}, "replicatons: unknown key in an experiment file"),
    "typo in a parameter path": (
        {"parameters": {"staffing.servers.cuont": {"values": [3, 4]}}},
        "parameters: design point staffing.servers.cuont=3 is not a valid scenario: staffing.servers.cuont",
    ),
    "no such role": (
        {"parameters": {"staffing.clerks.count": {"values": [3]}}},
        "parameters.staffing.clerks.count: the scenario has no staffing entry 'clerks' (it has: servers)",
    ),
    "value the scenario rejects": (
        {"parameters": {"staffing.servers.count": {"values": [3, -1]}}},
        "staffing.servers.count=-1 is not a valid scenario",
    ),
    "unknown KPI": ({"kpis": ["on_time_rte"]}, "kpis: unknown KPI 'on_time_rte'"),
    "unknown daily column": ({"timeseries": ["open_case"]}, "timeseries: unknown daily column 'open_case'"),
    "range without step for factorial": (
        {"parameters": {"staffing.servers.count": {"min": 3, "max": 5}}},
        "parameters.staffing.servers.count: a factorial design needs values",
    ),
    "sobol N not a power of 2": ({"design": {"type": "sobol", "samples": 10}}, "power of 2"),
    "max below min": ({"parameters": {"staffing.servers.count": {"min": 5, "max": 3, "step": 1}}}, "must be greater than min"),
    "missing base scenario": ({"scenario": "nowhere.yaml"}, "scenario: file not found"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_experiment_one_line_exit_2_nothing_written(case, tmp_path, capsys):
    changes, expected = BAD[case]
    exp = write_experiment(tmp_path / "bad.yaml", **changes)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {exp}: ") and expected in err, err
    assert not out.exists()


@pytest.mark.parametrize("parameter, integer", [
    ({"min": 3, "max": 12, "num": 4}, True), ({"min": 3, "max": 12, "num": 40}, True),
    ({"min": 3, "max": 12, "step": 1}, True), ({"min": 3, "max": 12, "step": 4}, True),
    ({"min": 2.6, "max": 9.4, "num": 10}, True), ({"min": 0.5, "max": 2.5, "num": 7}, False),
    ({"min": 0.5, "max": 2.5, "step": 0.25}, False), ({"values": [1, 2, 2, 3]}, True),
])  # fmt: skip
def test_factorial_levels_are_counted_as_many_as_are_built(parameter, integer):
    """The count that refuses an oversized design before it is built is the count built (where
    rounding merges no levels; see the next test)."""
    p = experiment.Parameter(**parameter)
    assert experiment.factorial_level_count(p, integer, "k") == len(experiment.factorial_levels(p, integer, "k"))


@pytest.mark.parametrize("parameter, integer", [
    ({"min": 0.5, "max": 2.5, "num": 3}, True), ({"min": 0.5, "max": 4.5, "step": 1}, True),
    ({"min": 0, "max": 1e-9, "num": 5000}, False),
])  # fmt: skip
def test_where_rounding_merges_levels_the_count_is_never_below_the_levels_built(parameter, integer):
    p = experiment.Parameter(**parameter)
    assert experiment.factorial_level_count(p, integer, "k") > len(experiment.factorial_levels(p, integer, "k"))


def test_a_factorial_of_millions_of_levels_is_refused_before_it_is_built(tmp_path, capsys):
    """Before: ~60 s building 9,000,000 levels, then the refusal (sweep and validate alike)."""
    exp = write_experiment(tmp_path / "big.yaml", replications=1, parameters={
        "staffing.servers.count": {"values": [3, 4]},
        "case_types.job.arrivals.per_hour": {"min": 1.5, "max": 2.5, "num": 9_000_000}})  # fmt: skip
    t0 = time.perf_counter()
    assert cli.main(["sweep", str(exp), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "the factorial has 18,000,000 points; the limit is 10,000,000 runs" in capsys.readouterr().err and time.perf_counter() - t0 < 10
    exp = write_experiment(tmp_path / "asks.yaml", replications=1, parameters={
        "case_types.job.arrivals.per_hour": {"min": 1.5, "max": 2.5, "num": 4_000_000}})  # fmt: skip
    t0 = time.perf_counter()
    assert cli.main(["sweep", str(exp), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "add --yes to start it" in capsys.readouterr().err and time.perf_counter() - t0 < 10
    assert not (tmp_path / "o").exists()


def test_bad_shard_argument(tmp_path, capsys):
    exp = write_experiment(tmp_path / "e.yaml")
    assert cli.main(["sweep", str(exp), "--executor", "slurm-array", "--shard", "4/3", "--out", str(tmp_path / "o")]) == 2
    assert "shard 4/3" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_integer_parameters_are_sampled_evenly_and_discrete_levels_exactly(tmp_path):
    exp = write_experiment(
        tmp_path / "lhs.yaml", replications=1,
        parameters={
            "staffing.servers.count": {"min": 3, "max": 6},           # schema says int
            "case_types.job.arrivals.per_hour": {"min": 1.0, "max": 2.0},
            "case_types.job.handle.dist": {"values": ["exponential", "lognormal"]},
        },
        design={"type": "lhs", "samples": 400},
    )  # fmt: skip
    plan = experiment.load(exp)
    counts = plan.points["p0"]
    assert plan.integer == {"staffing.servers.count": True, "case_types.job.arrivals.per_hour": False,
                            "case_types.job.handle.dist": False}  # fmt: skip
    assert set(counts) == {3, 4, 5, 6} and all(isinstance(v, int) for v in counts)
    # every integer equally likely (LHS strata: exactly 100 each), ends not half-weighted
    assert counts.value_counts().to_dict() == {3: 100, 4: 100, 5: 100, 6: 100}
    assert not plan.points["p1"].astype(float).apply(float.is_integer).all()
    assert set(plan.points["p2"]) == {"exponential", "lognormal"}


def test_sobol_and_morris_sizes_and_figures(tmp_path):
    params = {
        "staffing.servers.count": {"min": 3, "max": 5, "label": "Servers (staff)"},
        "case_types.job.arrivals.per_hour": {"min": 1.5, "max": 2.5},
    }
    sob = experiment.load(write_experiment(tmp_path / "s.yaml", parameters=params, design={"type": "sobol", "samples": 8},
                                           replications=2, days=15))  # fmt: skip
    assert len(sob.points) == 8 * (2 + 2)  # Saltelli, first order: N (D + 2)
    mor = experiment.load(write_experiment(tmp_path / "m.yaml", parameters=params, design={"type": "morris", "samples": 5}))
    assert len(mor.points) == 5 * (2 + 1)
    out = tmp_path / "sobol_out"
    run_sweep(sob, out, "local", workers=2, progress=False)
    from sim.sweep.analysis import sensitivity
    from sim.sweep.figures import draw

    si = sensitivity(out)
    util = si[(si["kpi"] == "utilisation_servers") & (si["index"] == "ST")].set_index("parameter")["value"]
    assert np.isfinite(util).all() and len(util) == 2
    paths = draw(out)
    assert {p.suffix for p in paths} == {".png", ".svg", ".pdf"}
    assert any(p.name == "sobol_indices.png" for p in paths)
    assert all(p.stat().st_size > 1000 for p in paths)
    svg = (out / "figures" / "scatter_on_time_resident.svg").read_text()
    assert "posts, servers (people)" in svg and "Servers (staff)" not in svg  # the table's name wins


def test_a_parameter_is_named_by_the_label_table_in_the_figures_language_else_by_the_experiments_label():
    """The shipped experiments label their parameters in English: a Chinese figure drew those
    English labels, since an experiment's label won over the label table's name."""
    from sim.sweep.figures import Names

    specs = {"staffing.party_workers.per": {"label": "Two-new organisations per party-mass worker"},
             "case_types.job.handle.cv": {"label": "Spread of handling times"}}
    zh = Names(specs, "zh")
    assert zh.axis("staffing.party_workers.per").startswith("党群工作者每人服务对象数")
    assert zh.axis("case_types.job.handle.cv") == "Spread of handling times\ncase_types.job.handle.cv"
    assert zh.short("case_types.job.handle.cv") == "Spread of handling times"


def test_figures_for_one_parameter_name_it_from_the_label_table_in_their_language(tmp_path):
    """Sweep figures named a swept parameter in English only, by its key path and a unit guessed
    from the key's ending ('staffing.servers.count (staff)'): a second naming beside sim.labels."""
    exp = write_experiment(tmp_path / "one.yaml", replications=3,
                           parameters={"staffing.servers.count": {"values": [3, 4, 5]}})  # fmt: skip
    out = tmp_path / "out"
    run_sweep(experiment.load(exp), out, "local", workers=1, progress=False)
    from sim.sweep.figures import draw

    expected = {"zh": ["servers人数（人）", "平均解决时间（天）", "每个设计点3次重复"],
                "en": ["posts, servers (people)", "mean time to fix (days)", "3 replications per point"]}
    for lang, texts in expected.items():
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*missing from font")  # a box instead of a glyph
            paths = draw(out, lang)
        assert [p.name for p in paths] == [f"response_staffing_servers_count.{ext}" for ext in ("png", "svg", "pdf")]
        svg = paths[1].read_text(encoding="utf-8")
        assert [t for t in texts if t not in svg] == [], lang  # parameter, KPI with its unit, title
        assert "staffing.servers.count" in svg and "(staff)" not in svg  # the key path under its name


def test_figures_of_a_sweep_that_kept_no_kpis_are_refused_in_one_line(tmp_path, capsys):
    """A sweep run with `kpis: []` (refused since; a folder from before it was) kept every run
    without a KPI: `streetsim figures` ended in a ZeroDivisionError traceback (a grid of no panels)."""
    import json

    out = tmp_path / "out"
    exp = write_experiment(tmp_path / "none.yaml", days=5, replications=1, kpis=["on_time_resident"],
                           parameters={"staffing.servers.count": {"values": [3, 4]}})  # fmt: skip
    run_sweep(experiment.load(exp), out, "local", workers=1, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "kpis": []}))
    before = sorted(p.name for p in out.iterdir())
    assert cli.main(["figures", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"error: {out}: ") and "the sweep kept no KPIs" in err, err
    assert sorted(p.name for p in out.iterdir()) == before  # no figures/ folder


SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_experiments_validate(path):
    plan = experiment.load(path)
    assert plan.name == path.stem and len(plan.runs()) > 0


def test_is_experiment_key():
    assert experiment.is_experiment(yaml.safe_load(Path(SHIPPED[0]).read_text())) if SHIPPED else True
    assert not experiment.is_experiment(yaml.safe_load(MMC.read_text()))


def test_load_raises_scenario_error_with_key(tmp_path):
    with pytest.raises(ScenarioError) as e:
        experiment.load(write_experiment(tmp_path / "x.yaml", replications=0))
    assert e.value.key == "replications"
    assert not list(tmp_path.glob("**/*.parquet"))
    assert store.MANIFEST == "manifest.json"


def test_a_sweep_resumed_after_the_model_changed_runs_again(tmp_path, monkeypatch):
    """A run id includes the model code (sim.provenance): runs of the old code are not reused."""
    exp = write_experiment(tmp_path / "code.yaml", days=5, replications=1)
    out = tmp_path / "out"
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    before = set(raw_run_ids(out))
    assert len(before) == 6
    assert experiment.load(exp).design_table()["run_id"].isin(before).all()  # the same code: the same ids
    monkeypatch.setattr(experiment, "code_fingerprint", lambda: "another-model")
    assert cli.main(["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    after = set(raw_run_ids(out)) - before
    assert len(after) == 6  # every run made again by the new code
    table = store.read_results(out)
    assert set(table["run_id"]) == after and (table["status"] == "ok").all()


@pytest.mark.parametrize("lang, title", [("zh", "servers人数"), ("en", "posts, servers")])
def test_a_response_figure_by_a_second_parameter_has_one_legend_under_its_panels(lang, title, tmp_path, monkeypatch):
    """Each panel had a legend of its own ('posts, community workers (security pool) (people) = 12'):
    it covered the curves and, with a long name, ran off the page."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from sim.sweep import figures as sweep_figures

    drawn = []
    save = sweep_figures._save

    def kept(fig, outdir, stem, *args):
        paths = save(fig, outdir, stem, *args)  # laid out there
        if stem.startswith("response_"):
            renderer = FigureCanvasAgg(fig).get_renderer()  # closed: a canvas again, to measure
            legends = [g for g in fig.legends + [ax.get_legend() for ax in fig.axes] if g is not None]
            drawn.append((fig.bbox, [ax.get_window_extent(renderer) for ax in fig.axes],
                          [(g.get_title().get_text(), g.get_window_extent(renderer)) for g in legends]))
        return paths

    monkeypatch.setattr(sweep_figures, "_save", kept)
    out = tmp_path / "grid"
    run_sweep(experiment.load(write_experiment(tmp_path / "grid.yaml", replications=2, days=10)), out, "local",
              workers=2, progress=False)  # fmt: skip
    sweep_figures.draw(out, lang)
    ((page, panels, legends),) = drawn
    assert [name for name, _box in legends] == [title]  # one legend, titled by the parameter (its unit is on no axis)
    (box,) = [box for _name, box in legends]
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0  # on the page
    assert not [p for p in panels if box.overlaps(p)]  # over no panel


def test_two_keys_of_one_lever_keep_apart_and_an_experiments_label_names_a_key_in_the_annex_too():
    """Two keys of one lever with no name of their own were both called by the lever's name in
    legends and titles (街道内设机构 and 街道内设机构); the annex's tables named a key the table
    has no name for by its bare key path where the figures used the experiment's label."""
    from sim.report.annex import _swept_name
    from sim.sweep.figures import Names

    specs = {"levers.sections.count": {}, "levers.sections.unified_count": {},
             "case_types.job.handle.cv": {"label": "Spread of handling times"}}
    zh = Names(specs, "zh")
    assert zh.short("levers.sections.count") != zh.short("levers.sections.unified_count")
    manifest = {"design": {"parameters": specs}}
    assert _swept_name("case_types.job.handle.cv", manifest, "zh") == "Spread of handling times\ncase_types.job.handle.cv"
    assert _swept_name("case_types.job.handle.cv", manifest, "zh") == zh.axis("case_types.job.handle.cv")


def test_the_manifest_lists_a_bounded_number_of_skipped_points_and_counts_them_all(tmp_path, monkeypatch):
    """Each skipped point was listed (~260 bytes): a large grid of mostly invalid points made a
    manifest past what streetsim reads back (limits.MAX_RESULTS_FILE_BYTES)."""
    monkeypatch.setattr(experiment, "LISTED_SKIPS", 2)
    exp = write_experiment(tmp_path / "skips.yaml", invalid_points="skip",
                           parameters={"staffing.servers.count": {"values": [-3, -2, -1, 3, 4]}})  # fmt: skip
    plan = experiment.load(exp)
    design = experiment.describe(plan)
    assert design["skipped_count"] == 3 and len(plan.skipped) == 3
    assert [p["values"]["staffing.servers.count"] for p in design["skipped_points"]] == [-3, -2]
    assert design["points"] == 2
