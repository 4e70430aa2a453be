"""The browser view without a browser: the view's model, its controls, and the page via solara.render."""

from __future__ import annotations

import json
import math

import ipyvuetify as v
import ipywidgets
import pytest
import solara
import yaml

from sim.cli import main
from sim.metrics import case_kpis, case_table
from sim.scenario import build, load, staff_count
from sim.street import StreetModel
from sim.viz import app
from sim.viz.model import (
    DISTRICT_MARK,
    LEVER_SWITCHES,
    StreetVizModel,
    as_overrides,
    controls_for,
    load_settings,
    viewable_sources,
)
from sim.viz.server import LANG_ENV, OVERRIDES_ENV, SCENARIO_ENV, SEED_ENV, asset_file
from sim.viz.vega import VegaChart

SCENARIO = "scenarios/reform_2015.yaml"
SMALL = ["street.residents=20000"]  # a quarter of the street: fast, same roles and levers


def small_model(**controls):
    return StreetVizModel(SCENARIO, 1, tuple(SMALL), **controls)


# ------------------------------------------------------------------------------ the view's model
def test_controls_use_the_set_paths_of_the_cli():
    settings = load(SCENARIO, SMALL)
    keys = {c.key: c for c in controls_for(settings)}
    for name, role in settings.staffing.items():
        rule = "count" if role.count is not None else ("each" if role.per == 1 else "per")
        assert f"staffing.{name}.{rule}" in keys
    for key, _ in LEVER_SWITCHES:
        assert keys[key].kind == "switch"
    assert keys["levers.grid_management.level"].values == ["street", "district"]
    for c in keys.values():  # every control starts at the scenario's value, which its slider can show
        assert load(SCENARIO, [*SMALL, *as_overrides({c.key: c.value})]) == settings, c.key
        if c.kind in ("count", "per", "each"):
            assert c.value in c.values, c.key
    assert as_overrides({"levers.x.enabled": False, "staffing.p.per": 150.0}) == ["levers.x.enabled=false", "staffing.p.per=150"]


def test_controls_change_the_model():
    m = small_model(**{"staffing.grid_supervisors.count": 5, "staffing.party_workers.per": 300, "staffing.committee_workers.each": 5,
                       "levers.grid_management.level": "district", "levers.joint_enforcement.enabled": False})
    assert m.teams["grid_supervisors"].staff == 5
    assert m.teams["party_workers"].staff == math.ceil(m.settings.street.two_new_orgs / 300)
    assert m.teams["committee_workers"].staff == 5 * m.settings.street.residential_areas
    assert m.settings.levers.grid_management.level == "district"
    assert m.settings.levers.joint_enforcement.enabled is False


def test_watching_does_not_change_the_simulation():
    plain = StreetModel(load(SCENARIO, SMALL), 1)
    viewed = small_model()
    for _ in range(6):
        plain.step()
        viewed.step()
        viewed.open_cases_now()
    cols = ["open_cases", "backlog_register", "backlog_dispatch", "backlog_handle", "backlog_close", "mean_trust"]
    a = plain.datacollector.get_model_vars_dataframe()[cols].reset_index(drop=True)
    b = viewed.datacollector.get_model_vars_dataframe()[cols].iloc[1:].reset_index(drop=True)  # row 0 is day 0
    assert a.equals(b)
    assert len(plain.cases) == len(viewed.cases) > 0


def test_open_cases_and_on_time_rate_agree_with_the_model():
    m = small_model()
    for _ in range(5):
        m.step()
    cases = m.open_cases_now()
    assert len(cases) == m.open_cases() > 0
    by_step = {s: sum(c.step == s for c, _ in cases) for s in m.in_stage}
    assert by_step == m.in_stage
    assert all(overdue == (c.deadline < m.env.now) for c, overdue in cases)
    table = case_table(m)  # the model's own record of every case so far
    closed = table[table["closed_flag"]]
    decided = len(closed) + sum(o for _, o in cases)
    assert m.on_time_rate() == pytest.approx((closed["closed"] <= closed["deadline"]).sum() / decided)
    row = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert row["on_time_rate"] == pytest.approx(m.on_time_rate())
    # as residents see it: the model's own end-of-run KPIs, from its case table
    expected = case_kpis(table, 0.0, m.env.now)
    assert row["on_time_resident"] == pytest.approx(expected["on_time_resident"])
    assert row["wait_mean_days"] == pytest.approx(expected["wait_mean_days"])
    assert 0 < row["utilisation_grid_supervisors"] < 1.5
    cards = m.card_values()
    assert cards["busiest_utilisation"] == max(row[f"utilisation_{r}"] for r in m.teams if row[f"utilisation_{r}"] == row[f"utilisation_{r}"])
    ps = m.settings.levers.purchased_services
    assert cards["total_cost_per_year"] == sum(r.cost_per_year * m.teams[n].posts for n, r in m.settings.staffing.items()) + ps.cost_per_year


def test_patrols_stay_in_their_grid_and_move():
    m = small_model()
    before = dict(m.map.patrol)
    for _ in range(3):
        m.step()
    assert before and m.map.patrol.keys() == before.keys()
    assert m.map.patrol != before
    for w in m.supervisors():
        x, y = m.map.patrol[w.unique_id]
        z = m.map.grid_zones[w.grid % len(m.map.grid_zones)]
        assert z.x0 <= x < z.x1 and z.y0 <= y < z.y1


# ------------------------------------------------------------------------------------ scenarios
def test_only_viewable_scenarios_are_offered_and_district_streets_load():
    sources = viewable_sources()
    assert SCENARIO in sources
    assert not any("validation" in s for s in sources)  # test reductions, not streets
    district = [s for s in sources if s.startswith("scenarios/changning_district.yaml")]
    assert len(district) == 10 and all(DISTRICT_MARK in s for s in district)
    street = load_settings(district[0], [])
    assert street.name == "huayang" and street.street.residents == 70000
    assert viewable_sources(extra=district[3])[0] == district[3]  # the one given on the command line first


def test_asset_route_answers_files_only(tmp_path):
    pkg = tmp_path / "pkg@1.0.0"
    (pkg / "build").mkdir(parents=True)
    (pkg / "build" / "a.js").write_text("x")
    (tmp_path / "outside.js").write_text("secret")
    (pkg / "build" / "link.js").symlink_to(tmp_path / "outside.js")
    assert asset_file(tmp_path, "pkg@1.0.0/build/a.js") == pkg / "build" / "a.js"
    for bad in ("pkg@1.0.0/build", "pkg@1.0.0/build/", "pkg@1.0.0", "pkg@1.0.0/../outside.js",
                "pkg@1.0.0/build/link.js", "pkg@1.0.0/build/missing.js", "../outside.js"):
        with pytest.raises(FileNotFoundError):
            asset_file(tmp_path, bad)
    assert (pkg / "build" / "a.js").exists() and (pkg / "build").is_dir()


# ------------------------------------------------------------------------------------ the page
def _walk(w):
    """Every widget under ``w``, including layout items (reacton's find skips them)."""
    yield w
    for attr in ("children", "items"):
        for c in getattr(w, attr, None) or []:
            if isinstance(c, ipywidgets.Widget):
                yield from _walk(c)


def _texts(box) -> str:
    return " | ".join(str(c) for w in _walk(box) if isinstance(w, v.Html) for c in w.children if isinstance(c, str))


def _day(box) -> int:
    found = [w for w in _walk(box) if isinstance(w, v.Html) and w.class_ == "streetsim-day"]
    assert len(found) == 1
    return int(found[0].children[0])


def _charts(box):
    return [w for w in _walk(box) if isinstance(w, VegaChart)]


def _button(box, text):
    (b,) = [w for w in _walk(box) if isinstance(w, v.Btn) and w.children == [text]]
    return b


@pytest.fixture
def page_env(monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, SCENARIO)
    monkeypatch.setenv(OVERRIDES_ENV, json.dumps(SMALL + ["horizon.days=20"]))
    monkeypatch.setenv(SEED_ENV, "1")
    monkeypatch.setenv(LANG_ENV, "en")


@pytest.fixture
def built(monkeypatch):
    """Every street the page builds, in order (the page keeps its models to itself)."""
    runs = []

    class Recorded(app.Runs):
        def __init__(self, *args):
            super().__init__(*args)
            runs.append(self)

    monkeypatch.setattr(app, "Runs", Recorded)
    return runs


@solara.component
def InLayout():
    with solara.AppLayout():
        app.Page()


def test_page_renders_steps_and_resets(page_env, built):
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        charts = _charts(box)
        assert len(charts) == 5
        assert _day(box) == 0
        for c in charts:
            assert "tab:" not in str(c.spec)  # CSS colours only
            assert c.spec["$schema"].endswith("/v5.2.0.json")  # the offline renderer's version
        backlog, map_spec = str(charts[1].datasets), charts[0].spec
        _button(box, "Step").click()
        assert _day(box) == 1
        charts = _charts(box)
        assert str(charts[1].datasets) != backlog
        assert charts[0].spec == map_spec  # a new day sends new data, not a new spec
        case_layer = charts[0].spec["layer"][-1]["data"]["name"]
        assert len(charts[0].datasets[case_layer]) > 0  # open cases on the map
        (slider,) = [w for w in _walk(box) if isinstance(w, v.Slider) and w.max == 15]  # supervisors 3..18
        slider.v_model = 2  # the third value: 5 supervisors
        assert "press Reset to apply" in _texts(box)
        _button(box, "Reset").click()
        assert _day(box) == 0
        assert built[-1].model.teams["grid_supervisors"].staff == 5
    finally:
        rc.close()


def test_reset_builds_the_scenario_exactly_as_streetsim_run_resolves_it(page_env, built, tmp_path):
    out = tmp_path / "run"
    sets = [a for s in [*SMALL, "horizon.days=20"] for a in ("--set", s)]
    assert main(["run", SCENARIO, *sets, "--replications", "1", "--workers", "1", "--out", str(out)]) == 0
    resolved = yaml.safe_load((out / "scenario.resolved.yaml").read_text())
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        _button(box, "Step").click()
        _button(box, "Reset").click()  # untouched controls
        assert len(built) == 2
        for runs in built:  # on load, and after Reset
            model = runs.model
            assert model.settings.model_dump(mode="json") == resolved
            file_settings = build(resolved)
            for name, role in file_settings.staffing.items():
                assert model.teams[name].staff == staff_count(role, file_settings.street), name
            assert model.teams["party_workers"].staff == 8  # 1 per 150 of 1,200 organisations
    finally:
        rc.close()


def test_page_speaks_the_language_it_was_started_with(page_env, monkeypatch):
    monkeypatch.setenv(LANG_ENV, "zh")
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        text = _texts(box)
        assert "未结案件" in text and "open cases" not in text
        assert "每150个两新组织配1人 = 8人" in text
        _button(box, "单步").click()
        assert _day(box) == 1
        legend_titles = json.dumps([_charts(box)[0].spec, _charts(box)[0].datasets], ensure_ascii=False)
        assert "居民信任度" in legend_titles and "网格 1" in legend_titles
    finally:
        rc.close()


def test_each_page_has_its_own_model(page_env):
    box1, rc1 = solara.render(InLayout(), handle_error=False)
    box2, rc2 = solara.render(InLayout(), handle_error=False)
    try:
        _button(box1, "Step").click()
        _button(box1, "Step").click()
        assert _day(box1) == 2
        assert _day(box2) == 0
    finally:
        rc1.close()
        rc2.close()


def test_a_scenario_that_cannot_load_shows_one_line(page_env, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, "scenarios/no_such_file.yaml")
    app.offered_sources.cache_clear()
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        alerts = [w for w in _walk(box) if isinstance(w, v.Alert)]
        assert any("no_such_file.yaml: file not found" in str(a.children) for a in alerts)
        assert not _charts(box)
    finally:
        rc.close()
        app.offered_sources.cache_clear()


def test_cli_rejects_a_missing_scenario_with_exit_2(capsys):
    assert main(["viz", "scenarios/no_such_file.yaml", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: scenarios/no_such_file.yaml: file not found"]


def test_scenario_selector_swaps_the_model(page_env, built):
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        (select,) = [w for w in _walk(box) if isinstance(w, v.Select) and w.label == "scenario"]
        values = [i["value"] for i in select.items]
        assert SCENARIO in values and not any("validation" in x for x in values)
        _button(box, "Step").click()
        street = next(x for x in values if x.endswith(f"{DISTRICT_MARK}hongqiao"))
        select.v_model = street
        assert _day(box) == 0
        assert built[-1].model.settings.name == "hongqiao"
        assert built[-1].model.teams["grid_supervisors"].staff == 6  # the district file's figure for this street
        assert len(_charts(box)) == 5
    finally:
        rc.close()


def test_cli_reports_a_busy_port_in_one_line(capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["viz", SCENARIO, "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: cannot listen on 127.0.0.1:{port}:")


def test_cli_reports_a_host_name_no_resolver_can_encode_in_one_line(capsys):
    """A bidirectional override in --host ended in a traceback (socket: "encoding of hostname
    failed"); an escape in it reached the terminal raw."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    for host, shown in [("bad\u202e", "bad\\u202e"), ("a\x1bb", "a\\x1bb")]:
        assert main(["viz", SCENARIO, "--host", host, "--port", str(port)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: cannot listen on {shown}:{port}: ") and err.count("\n") == 1, err
