"""The street in the browser: a Solara page over the Mesa street model (``streetsim viz`` serves it).

Laid out for a meeting room's projector (1280x800 and up): KPI cards on top, then the map and the
live charts, each drawn to a fixed size in a grid that wraps; controls in the sidebar. Every word
comes from ``sim.labels`` in the chosen language. Each browser tab builds its own models inside
``Page`` (no module-level model), so two tabs never share state.

Controls are the scenario's own keys (``--set`` paths) and start at the scenario's values; they
take effect on Reset, which rebuilds the street from the scenario plus the changed controls
only. "Compare" runs the scenario as loaded beside it on the same seed (common random numbers).
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from pathlib import Path

import reacton.ipyvuetify as rv
import solara

from sim.labels import label, unit
from sim.scenario import ScenarioError
from sim.viz import charts
from sim.viz.model import DISTRICT_MARK, StreetVizModel, controls_for, load_settings, viewable_sources
from sim.viz.server import LANG_ENV, OVERRIDES_ENV, SCENARIO_ENV, SEED_ENV
from sim.viz.vega import VegaChart

DEFAULT_SCENARIO = "scenarios/reform_2015.yaml"
LANG_NAMES = {"zh": "中文", "en": "English"}
PLAY_PERIOD_S = 0.6  # a played day is shown at least this long
CARDS = ("sim_day", "open_cases", "on_time_resident", "wait_mean_days", "busiest_utilisation", "total_cost_per_year")
CSS = """
.streetsim-body { display: flex; align-items: flex-start; width: 100%; }
.streetsim-side { flex: 0 0 280px; width: 280px; height: calc(100vh - 72px); overflow-y: auto; position: sticky; top: 0;
                  padding: 6px; background: #fafafa; border-right: 1px solid #e0e0e0; }
.streetsim-side .v-card { margin-bottom: 8px; }
.streetsim-side .v-card__title { font-size: 16px; padding: 8px 12px 4px 12px; }
.streetsim-side .v-card__text { padding: 4px 12px 8px 12px; }
.streetsim-main { flex: 1 1 auto; min-width: 0; padding: 8px; }
.streetsim-cards { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; }
.streetsim-card { width: 150px; padding: 6px 10px; border-radius: 6px; background: #f5f7fa;
                  border-left: 4px solid #1f77b4; overflow: hidden; }
.streetsim-card-label { font-size: 12px; line-height: 1.25; color: #455a64; }
.streetsim-card-value { font-size: 21px; font-weight: 600; white-space: nowrap; }
.streetsim-card-unit { font-size: 12px; color: #455a64; margin-left: 3px; font-weight: 400; }
.streetsim-card-delta { font-size: 12px; white-space: nowrap; color: #37474f; }
.streetsim-panels { display: grid; grid-template-columns: repeat(auto-fill, 460px); gap: 10px; }
.streetsim-panel { width: 460px; height: 250px; overflow: hidden; }
.streetsim-panels .streetsim-map { grid-column: span 2; width: 930px; height: 380px; }
.streetsim-control { font-size: 13px; margin-top: 4px; }
.streetsim-control .v-input { margin-top: 0; padding-top: 0; }
.streetsim-side .v-input--switch { margin-top: 2px; }
.streetsim-side .v-input--switch .v-messages { display: none; }
.streetsim-side .v-input--switch .v-input__slot { margin-bottom: 0; }
.streetsim-side .v-input--switch label { font-size: 13px; }
.streetsim-pending { color: #d62728; font-size: 12px; }
.streetsim-note { color: #455a64; font-size: 12px; }
/* Solara's "This website runs on Solara" badge would cover a chart's axis */
div:has(> b > a[href="https://solara.dev"]) { display: none !important; }
"""


def launch_settings() -> tuple[str, list[str], int, str]:
    """Scenario, --set overrides, seed and language the server was started with."""
    return (
        os.environ.get(SCENARIO_ENV, DEFAULT_SCENARIO),
        json.loads(os.environ.get(OVERRIDES_ENV, "[]")),
        int(os.environ.get(SEED_ENV, "1")),
        os.environ.get(LANG_ENV, "en"),
    )


@functools.cache
def offered_sources(default: str) -> list[str]:
    """The scenario list, read once per server (loading every file takes seconds)."""
    return viewable_sources(extra=default)


def source_name(source: str, lang: str) -> str:
    """``scenarios/x.yaml`` -> ``x.yaml``; a district street -> ``district.yaml · street``."""
    if DISTRICT_MARK in source:
        path, street = source.split(DISTRICT_MARK, 1)
        return f"{Path(path).name} · {label('street', lang)} {street}"
    return Path(source).name


# ------------------------------------------------------------------------------ the street runs
class Runs:
    """The street as changed on the page and, when comparing, as loaded: stepped together."""

    def __init__(self, source, overrides, seed, changed: dict, compare: bool):
        self.lock = threading.Lock()  # Play steps in a thread while the page may be drawing
        self.model = StreetVizModel(source, seed, tuple(overrides), **changed)
        self.original = StreetVizModel(source, seed, tuple(overrides)) if compare else None

    def step(self):
        with self.lock:
            self.model.step()
            if self.original is not None:
                self.original.step()

    def named(self, lang) -> list[tuple[str, StreetVizModel]]:
        if self.original is None:
            return [(label("changed", lang), self.model)]
        return [(label("changed", lang), self.model), (label("as_loaded", lang), self.original)]


# ---------------------------------------------------------------------------------- KPI cards
def card_text(key: str, value, lang: str) -> tuple[str, str]:
    """(number, unit) as a card shows them."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–", ""
    if key in ("on_time_resident", "busiest_utilisation"):
        return f"{value:.1%}", ""
    if key == "wait_mean_days":
        return f"{value:.2f}", unit(key, lang)
    if key == "total_cost_per_year":
        return (f"{value / 1e4:,.0f} 万", unit(key, lang)) if lang == "zh" else (f"{value / 1e6:,.2f} M", unit(key, lang))
    if key == "open_cases":
        return f"{value:,}", unit("cases_open_at_end", lang)
    return f"{value:,}", ""


def delta_text(key: str, new, old, lang: str) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (new, old)):
        return "Δ –"
    d = new - old
    if key in ("on_time_resident", "busiest_utilisation"):
        return f"Δ {d * 100:+.1f} pp" if lang == "en" else f"Δ {d * 100:+.1f} 个百分点"
    if key == "total_cost_per_year":
        return f"Δ {d / 1e4:+,.0f} 万" if lang == "zh" else f"Δ {d / 1e6:+,.2f} M"
    if key == "wait_mean_days":
        return f"Δ {d:+.2f}"
    return f"Δ {d:+,}"


@solara.component
def KpiCards(runs: Runs, lang: str, tick: int):
    with runs.lock:
        now = runs.model.card_values()
        then = runs.original.card_values() if runs.original is not None else None
    now["sim_day"] = now["day"]
    if then:
        then["sim_day"] = then["day"]
    with solara.Div(classes=["streetsim-cards"]):
        for key in CARDS:
            number, unit_text = card_text(key, now[key], lang)
            with solara.Div(classes=["streetsim-card", f"streetsim-card-{key}"]):
                solara.Div(children=[label(key, lang)], classes=["streetsim-card-label"])
                with solara.Div(classes=["streetsim-card-value"]):
                    solara.Text(number, classes=["streetsim-day"] if key == "sim_day" else [])
                    if unit_text:
                        solara.Text(unit_text, classes=["streetsim-card-unit"])
                if key == "busiest_utilisation" and now["busiest_role"]:
                    solara.Div(children=[label(now["busiest_role"], lang)], classes=["streetsim-card-label"])
                elif then is not None and key != "sim_day":
                    solara.Div(children=[delta_text(key, now[key], then[key], lang)], classes=["streetsim-card-delta"])
        if then is not None:
            u_then = then["busiest_utilisation"]
            with solara.Div(classes=["streetsim-card", "streetsim-card-as-loaded"]):
                solara.Div(children=[f"{label('as_loaded', lang)}: {label('busiest_utilisation', lang)}"], classes=["streetsim-card-label"])
                solara.Div(children=[card_text("busiest_utilisation", u_then, lang)[0]], classes=["streetsim-card-value"])
                solara.Div(children=[delta_text("busiest_utilisation", now["busiest_utilisation"], u_then, lang)],
                           classes=["streetsim-card-delta"])


@solara.component
def Panels(runs: Runs, lang: str, tick: int):
    with runs.lock:
        named = runs.named(lang)
        drawings = [charts.map_chart(runs.model, lang)] + [draw(named, lang) for draw in charts.CHARTS]
    with solara.Div(classes=["streetsim-panels"]):
        for i, (template, datasets) in enumerate(drawings):
            classes = ["streetsim-panel", "streetsim-map"] if i == 0 else ["streetsim-panel", f"streetsim-chart-{i}"]
            solara.Div(children=[VegaChart.element(spec=template, datasets=datasets)], classes=classes)


# ---------------------------------------------------------------------------------- controls
def control_text(c, value, street, lang: str) -> str:
    """What a control is set to, in the reform's own words: "1 per 150 organisations = 8 people"."""
    people = unit("staff_", lang)
    if c.kind == "count":
        return f"{value} {people}" if lang == "en" else f"{value}{people}"
    staff = c.staff(street, value)
    if c.kind == "per":
        what = label(f"unit_{c.of}", lang)
        rule = f"{c.each} per {value} {what}" if lang == "en" else f"每{value}{what}配{c.each}{people}"
    else:
        what = label(f"unit_{c.of.removesuffix('s')}", lang)
        rule = f"{value} per {what}" if lang == "en" else f"每{what.removeprefix('个')}{value}{people}"
    return f"{rule} = {staff} {people}" if lang == "en" else f"{rule} = {staff}{people}"


@solara.component
def Controls(controls, values, street, lang: str):
    with solara.Card(label("staffing", lang)):
        for c in controls:
            if c.kind in ("count", "per", "each"):
                v = values.value[c.key]
                with solara.Div(classes=["streetsim-control", f"streetsim-control-{c.role}"]):
                    solara.Text(f"{label(c.role, lang)}: {control_text(c, v, street, lang)}")
                    # a slider over the positions of the allowed values; the text above shows the value
                    rv.Slider(v_model=c.values.index(v), min=0, max=len(c.values) - 1, step=1, dense=True, hide_details=True,
                              on_v_model=lambda i, c=c: values.set({**values.value, c.key: c.values[int(i)]}))
    with solara.Card(label("levers", lang)):
        for c in controls:
            if c.kind == "switch":
                solara.Switch(label=label(c.label_key, lang), value=values.value[c.key],
                              on_value=lambda x, k=c.key: values.set({**values.value, k: x}))
            elif c.kind == "choice":
                rv.Select(label=label(c.label_key, lang), v_model=values.value[c.key], dense=True,
                          items=[{"text": label(f"level_{v}", lang), "value": v} for v in c.values],
                          on_v_model=lambda x, k=c.key: values.set({**values.value, k: x}))


# ---------------------------------------------------------------------------------- the page
def _loaded(source, overrides):
    """(settings, controls, error) of a source as loaded."""
    try:
        settings = load_settings(source, overrides)
    except ScenarioError as e:
        return None, [], str(e)
    return settings, controls_for(settings), None


@solara.component
def StreetView(source: str, chosen, sources, overrides, seed: int, lang: str):
    settings, controls, error = solara.use_memo(lambda: _loaded(source, overrides), [])
    scenario_values = {c.key: c.value for c in controls}
    values = solara.use_reactive(scenario_values)
    applied = solara.use_reactive(scenario_values)
    compare = solara.use_reactive(False)
    playing = solara.use_reactive(False)
    tick = solara.use_reactive(0)
    first = solara.use_memo(lambda: Runs(source, overrides, seed, {}, False) if error is None else None, [])
    runs = solara.use_reactive(first)

    def rebuild(compare_on: bool):
        changed = {k: v for k, v in values.value.items() if v != scenario_values[k]}
        playing.set(False)
        runs.set(Runs(source, overrides, seed, changed, compare_on))
        applied.set(dict(values.value))

    def step():
        runs.value.step()
        tick.set(tick.value + 1)

    def play():
        while playing.value and runs.value.model.running:
            start = time.monotonic()
            step()
            time.sleep(max(0.05, PLAY_PERIOD_S - (time.monotonic() - start)))
        playing.set(False)

    solara.lab.use_task(play, dependencies=[playing.value], prefer_threaded=True)

    with solara.Div(classes=["streetsim-body"]):
        Side(source, chosen, sources, lang, error, runs.value, controls, values, applied, settings, compare, playing,
             step, rebuild)
        with solara.Div(classes=["streetsim-main"]):
            if error is not None:
                solara.Error(f"{label('cannot_show', lang)}: {error}")
            else:
                KpiCards(runs.value, lang, tick.value)
                Panels(runs.value, lang, tick.value)


@solara.component
def Side(source, chosen, sources, lang, error, runs, controls, values, applied, settings, compare, playing, step, rebuild):
    """The controls: scenario, Step / Play / Reset, comparison, staffing and levers."""
    with solara.Div(classes=["streetsim-side"]):
        with solara.Card(label("scenario", lang)):
            rv.Select(label=label("scenario", lang), v_model=source, dense=True,
                      items=[{"text": source_name(s, lang), "value": s} for s in sources], on_v_model=chosen.set)
            if error is None:
                with solara.Row(gap="6px"):
                    solara.Button(label("step", lang), color="primary", on_click=step,
                                  disabled=playing.value or not runs.model.running)
                    solara.Button(label("pause" if playing.value else "play", lang), color="primary",
                                  on_click=lambda: playing.set(not playing.value))
                    solara.Button(label("reset", lang), color="primary", on_click=lambda: rebuild(compare.value))
                solara.Switch(label=label("compare_loaded", lang), value=compare.value,
                              on_value=lambda on: (compare.set(on), rebuild(on)))
                pending = values.value != applied.value
                solara.Text(label("changed_pending" if pending else "apply_on_reset", lang),
                            classes=["streetsim-pending"] if pending else ["streetsim-note"])
        if error is None:
            Controls(controls, values, settings.street, lang)


@solara.component
def Page():
    """One tab's view: its own scenario choice, language and street models."""
    default, overrides, seed, start_lang = launch_settings()
    sources = offered_sources(default)
    # the file given (a district file: its first street); one that does not load shows its error
    chosen = solara.use_reactive(next((s for s in sources if s.startswith(default + DISTRICT_MARK)), default))
    lang = solara.use_reactive(start_lang)
    solara.Style(CSS)
    solara.Title(f"{label('app_title', lang.value)} · {source_name(chosen.value, lang.value)}")
    with solara.AppBar():
        solara.AppBarTitle(f"{label('app_title', lang.value)} · {source_name(chosen.value, lang.value)}")
        solara.ToggleButtonsSingle(value=lang.value, on_value=lang.set,
                                   children=[solara.Button(LANG_NAMES[k], value=k, text=True) for k in LANG_NAMES])
    # keyed by scenario: another scenario has other roles, so the controls start afresh
    StreetView(chosen.value, chosen, sources, overrides, seed, lang.value).key(chosen.value)
