"""The street in the browser: a Mesa SolaraViz page (``streetsim viz`` serves it).

Each browser tab builds its own model inside ``Page`` (no module-level model), so two tabs never
share state. The scenario selector swaps the whole view; the sliders and switches under "Model
Parameters" take effect on Reset, which rebuilds the model from them.
"""

from __future__ import annotations

import json
import os

import solara
from mesa.visualization import SolaraViz

from sim.scenario import ScenarioError
from sim.scenario import load as load_scenario
from sim.viz import charts
from sim.viz.model import StreetVizModel, controls_for, scenario_files
from sim.viz.server import OVERRIDES_ENV, SCENARIO_ENV, SEED_ENV

DEFAULT_SCENARIO = "scenarios/reform_2015.yaml"


def MapView(model):
    """The street: grids, residential areas, staff and open cases."""
    with solara.Column(classes=["streetsim-map"]) as view:
        StatusLine(model)
        solara.FigureAltair(charts.map_chart(model))
    return view


def StatusLine(model):
    cases = model.open_cases_now()
    overdue = sum(o for _, o in cases)
    staff = ", ".join(f"{name} {team.staff}" for name, team in model.teams.items())
    solara.Text(f"Day {model.day} · {len(cases)} open cases · {overdue} overdue", classes=["streetsim-day"])
    solara.Text(f"Staff: {staff}", classes=["streetsim-staff"], style={"font-size": "12px"})


def BacklogView(model):
    return solara.FigureAltair(charts.backlog_chart(model))


def OnTimeView(model):
    return solara.FigureAltair(charts.on_time_chart(model))


def UtilisationView(model):
    return solara.FigureAltair(charts.utilisation_chart(model))


def TrustView(model):
    return solara.FigureAltair(charts.trust_chart(model))


COMPONENTS = [(MapView, 0), (BacklogView, 0), (UtilisationView, 0), (OnTimeView, 0), (TrustView, 0)]


def launch_settings() -> tuple[str, list[str], int]:
    """Scenario path, --set overrides and seed the server was started with."""
    return (
        os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO),
        json.loads(os.environ.get(OVERRIDES_ENV, "[]")),
        int(os.environ.get(SEED_ENV, "1")),
    )


def build_view(path: str, overrides: list[str], seed: int):
    """(model, model_params, error) for a scenario; error is one line when it cannot be loaded."""
    try:
        settings = load_scenario(path, overrides)
        params = {"scenario_path": path, "seed": seed, "base_overrides": tuple(overrides)}
        params.update({c.key: c.as_param() for c in controls_for(settings)})
        model = StreetVizModel(path, seed, tuple(overrides))
    except ScenarioError as e:
        return None, None, str(e)
    return model, params, None


@solara.component
def Page():
    """One tab's view: scenario selector, then Mesa's SolaraViz of a model of its own."""
    default, overrides, seed = launch_settings()
    chosen = solara.use_reactive(default)
    files = solara.use_memo(lambda: scenario_files(extra=default), [default])
    model, params, error = solara.use_memo(lambda: build_view(chosen.value, overrides, seed), [chosen.value])
    with solara.Sidebar():
        with solara.Card("Scenario"):
            solara.Select("Scenario file", values=files, value=chosen)
    if error:
        solara.Error(error)
        return
    # keyed by scenario: another scenario has other roles, so the controls start afresh
    SolaraViz(model, components=COMPONENTS, model_params=params, name="streetsim").key(chosen.value)
