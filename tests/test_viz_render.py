"""The browser view without a browser: the view's model, its controls, and the page via solara.render."""

from __future__ import annotations

import math

import ipyvuetify as v
import ipywidgets
import pytest
import solara
from solara.widgets import VegaLite

from sim.cli import main
from sim.scenario import load
from sim.street import StreetModel
from sim.viz import app
from sim.viz.model import LEVER_SWITCHES, StreetVizModel, as_overrides, controls_for
from sim.viz.server import OVERRIDES_ENV, SCENARIO_ENV, SEED_ENV

SCENARIO = "scenarios/reform_2015.yaml"
SMALL = ["street.residents=20000"]  # a quarter of the street: fast, same roles and levers


def small_model(**controls):
    return StreetVizModel(SCENARIO, 1, tuple(SMALL), **controls)


# ------------------------------------------------------------------------------ the view's model
def test_controls_use_the_set_paths_of_the_cli():
    settings = load(SCENARIO, SMALL)
    keys = {c.key: c for c in controls_for(settings)}
    for name, role in settings.staffing.items():
        rule = "count" if role.count is not None else "per"
        assert f"staffing.{name}.{rule}" in keys
    for key, _ in LEVER_SWITCHES:
        assert keys[key].type == "Checkbox"
    assert keys["levers.grid_management.level"].values == ["street", "district"]
    for c in keys.values():  # every control's starting value must load as it is
        load(SCENARIO, [*SMALL, *as_overrides({c.key: c.value})])
    assert as_overrides({"levers.x.enabled": False, "staffing.p.per": 150.0}) == ["levers.x.enabled=false", "staffing.p.per=150"]


def test_controls_change_the_model():
    m = small_model(**{"staffing.grid_supervisors.count": 5, "staffing.party_workers.per": 300,
                       "levers.grid_management.level": "district", "levers.joint_enforcement.enabled": False})
    assert m.teams["grid_supervisors"].staff == 5
    assert m.teams["party_workers"].staff == math.ceil(m.settings.street.two_new_orgs / 300)
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
    closed = [c for c in m.cases if c.step == "evaluate"]
    decided = len(closed) + sum(o for _, o in cases)
    assert m.on_time_rate() == pytest.approx(sum(c.closed <= c.deadline for c in closed) / decided)
    row = m.datacollector.get_model_vars_dataframe().iloc[-1]
    assert row["on_time_rate"] == pytest.approx(m.on_time_rate())
    assert 0 < row["utilisation_grid_supervisors"] < 1.5


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


# ------------------------------------------------------------------------------------ the page
def _walk(w):
    """Every widget under ``w``, including the grid layout's items (reacton's find skips them)."""
    yield w
    for attr in ("children", "items"):
        for c in getattr(w, attr, None) or []:
            if isinstance(c, ipywidgets.Widget):
                yield from _walk(c)


def _text(box, cls):
    found = [w for w in _walk(box) if isinstance(w, v.Html) and w.class_ == cls]
    assert len(found) == 1, f"{cls}: {len(found)} found"
    return found[0].children[0]


def _charts(box):
    return [w for w in _walk(box) if isinstance(w, VegaLite)]


def _button(box, label):
    (b,) = [w for w in _walk(box) if isinstance(w, v.Btn) and w.children == [label]]
    return b


@pytest.fixture
def page_env(monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, SCENARIO)
    monkeypatch.setenv(OVERRIDES_ENV, '["street.residents=20000"]')
    monkeypatch.setenv(SEED_ENV, "1")


@solara.component
def InLayout():
    # Sidebar contents (the Step and Reset buttons) appear only inside an AppLayout, as on the server.
    with solara.AppLayout():
        app.Page()


def test_page_renders_steps_and_resets(page_env):
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        charts = _charts(box)
        assert len(charts) == 5
        assert _text(box, "streetsim-day").startswith("Day 0 ")
        for c in charts:
            assert "tab:" not in str(c.spec)  # CSS colours only
        backlog = str(charts[1].spec["datasets"])
        _button(box, "Step").click()
        assert _text(box, "streetsim-day").startswith("Day 1 ")
        charts = _charts(box)
        assert str(charts[1].spec["datasets"]) != backlog
        case_layer = charts[0].spec["layer"][-1]["data"]["name"]
        assert len(charts[0].spec["datasets"][case_layer]) > 0  # open cases on the map
        assert "grid_supervisors 8," in _text(box, "streetsim-staff")
        (slider,) = [w for w in _walk(box) if isinstance(w, v.Slider) and w.label == "grid_supervisors: staff"]
        slider.v_model = 5
        _button(box, "Reset").click()
        assert _text(box, "streetsim-day").startswith("Day 0 ")
        assert "grid_supervisors 5," in _text(box, "streetsim-staff")
    finally:
        rc.close()


def test_each_page_has_its_own_model(page_env):
    box1, rc1 = solara.render(InLayout(), handle_error=False)
    box2, rc2 = solara.render(InLayout(), handle_error=False)
    try:
        _button(box1, "Step").click()
        _button(box1, "Step").click()
        assert _text(box1, "streetsim-day").startswith("Day 2 ")
        assert _text(box2, "streetsim-day").startswith("Day 0 ")
    finally:
        rc1.close()
        rc2.close()


def test_a_scenario_that_cannot_load_shows_one_line(page_env, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, "scenarios/no_such_file.yaml")
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        alerts = [w for w in _walk(box) if isinstance(w, v.Alert)]
        assert any("no_such_file.yaml: file not found" in str(a.children) for a in alerts)
        assert not _charts(box)
    finally:
        rc.close()


def test_cli_rejects_a_missing_scenario_with_exit_2(capsys):
    assert main(["viz", "scenarios/no_such_file.yaml", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: scenarios/no_such_file.yaml: file not found"]


def test_scenario_selector_swaps_the_model(page_env):
    box, rc = solara.render(InLayout(), handle_error=False)
    try:
        (select,) = [w for w in _walk(box) if isinstance(w, v.Select) and w.label == "Scenario file"]
        assert SCENARIO in select.items and "scenarios/validation/mmc.yaml" in select.items
        _button(box, "Step").click()
        assert _text(box, "streetsim-day").startswith("Day 1 ")
        select.v_model = "scenarios/validation/mmc.yaml"
        assert _text(box, "streetsim-day").startswith("Day 0 ")
        assert _text(box, "streetsim-staff") == "Staff: servers 3"
        labels = [w.label for w in _walk(box) if isinstance(w, v.Slider)]
        assert "servers: staff" in labels and "grid_supervisors: staff" not in labels
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
