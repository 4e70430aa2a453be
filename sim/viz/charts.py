"""Altair drawings of the street: the map and the live charts, in Chinese or English.

Every chart is drawn to a fixed total size (axes and legends included, Vega-Lite's ``fit``
autosize), so the page can lay them out without overlaps. Charts take ``runs``: the street as
changed on the page first and, when comparing, the street as loaded (same seed, so common
random numbers) second; each is a (series name, model) pair.

Colours are CSS names or hex codes only: Vega-Lite does not know matplotlib's ``tab:blue``.
Specs are written for the offline renderer, Vega-Lite 5.2 (see ``spec``).

Each drawing is (template, datasets): altair builds the template once per language and street
(``functools.cache``) with named, empty data; each step only computes the data as plain rows,
which the page's chart widget swaps into the running view (``sim.viz.vega``). Building specs with
altair every day took most of a step's second.
"""

from __future__ import annotations

import copy
import functools
import math

import altair as alt
import pandas as pd

from sim.labels import label

OFFLINE_VEGA_LITE = "v5.2.0"  # the Vega-Lite that solara-assets serves (see pyproject's altair pin)
STEP_COLOURS = {"register": "#1f77b4", "dispatch": "#ff7f0e", "handle": "#2ca02c", "close": "#9467bd"}
STAFF_MARKS = {  # label key -> (colour, shape)
    "grid_supervisors": ("#111111", "diamond"),
    "enforcement_officer": ("#8c564b", "square"),
    "committee_office": ("#e377c2", "cross"),
    "street_office": ("#d62728", "triangle-down"),
}
TRUST_RANGE = ["#d6604d", "#f7f7f7", "#4393c3"]  # low -> middle -> high trust (area fill)
SERIES_COLOURS = ["#1f77b4", "#7f7f7f"]  # changed, as loaded
SERIES_DASH = [[1, 0], [5, 3]]
MAP_SIZE = (930, 380)  # total width and height of the map, legends included
CHART_SIZE = (460, 250)  # total width and height of each chart
FONT = "Noto Sans CJK SC, Noto Sans, sans-serif"


def spec(chart, width: int, height: int) -> dict:
    """The chart as a Vega-Lite 5 spec of exactly ``width`` x ``height`` pixels, drawn as SVG.

    The $schema names the offline renderer's version: altair 5 writes 5.x specs with a newer
    minor version, which Vega-Lite 5.2 reads but warns about in the console.
    """
    d = chart.properties(width=width, height=height).to_dict(validate=False)  # validation: 0.3 s a step
    d["$schema"] = f"https://vega.github.io/schema/vega-lite/{OFFLINE_VEGA_LITE}.json"
    d["autosize"] = {"type": "fit", "contains": "padding"}
    d["usermeta"] = {"embedOptions": {"renderer": "svg", "actions": False}}
    d.setdefault("config", {}).update({"font": FONT, "view": {"stroke": None}})
    return d


def _jitter(i: int, salt: int) -> float:
    """A fixed offset in (-0.35, 0.35) so marks in one cell do not hide each other."""
    return ((i * 2654435761 + salt * 40503) % 1000) / 1000 * 0.7 - 0.35


def place_names(model, lang: str) -> tuple[list[str], list[str]]:
    """Names of the grids and residential areas: the scenario's where it gives them, else numbered."""
    street = model.settings.street
    grids = list(getattr(street, "grid_names", None) or [])
    areas = list(getattr(street, "area_names", None) or [])
    grids += [f"{label('grid', lang)} {i + 1}" for i in range(len(grids), len(model.grids))]
    areas += [f"{label('area', lang)} {i + 1}" for i in range(len(areas), len(model.areas))]
    return grids, areas


def filled(drawing: tuple[dict, dict]) -> dict:
    """One self-contained spec: the template with its data (what a plain Vega-Lite embed takes)."""
    template, datasets = drawing
    d = copy.deepcopy(template)
    d["datasets"] = {**d.get("datasets", {}), **datasets}  # the template may hold fixed data (a rule at 100%)
    return d


# ---------------------------------------------------------------------------------- the map
def map_chart(model, lang: str) -> tuple[dict, dict]:
    """Zones (grids, residential areas coloured by trust), staff and open cases, with legends."""
    sm = model.map
    grid_names, area_names = place_names(model, lang)
    template = _map_template(lang, sm.width, sm.height, model.settings.behaviour.trust.initial)
    areas = [
        {"x": z.x0 + 0.15, "x2": z.x1 - 0.15, "y": z.y0 + 0.15, "y2": z.y1 - 0.15, "lx": z.x0 + 0.35, "ly": z.y0 + 0.4,
         "area": area_names[i], "grid": grid_names[z.grid], "residents": model.areas[i].population,
         "trust": round(model.areas[i].mean_trust(), 3)}
        for i, z in sm.area_zones.items()
    ]
    grids = [{"x": z.x0, "x2": z.x1, "y": z.y0, "y2": z.y1, "name": grid_names[z.index], "lx": z.x0 + 0.3, "ly": z.y1 - 0.3}
             for z in sm.grid_zones]
    return template, {"areas": areas, "grids": grids, "staff": _staff_rows(model, lang), "cases": _case_rows(model, lang)}


@functools.cache
def _map_template(lang: str, width: int, height: int, initial_trust: float) -> dict:
    xs = alt.Scale(domain=[0, width], nice=False, zero=False)
    ys = alt.Scale(domain=[0, height], nice=False, zero=False, reverse=True)
    x, y = alt.X("x:Q", scale=xs, axis=None), alt.Y("y:Q", scale=ys, axis=None)
    trust_name, grid_name, area_name = label("trust", lang), label("grid", lang), label("area", lang)
    # Field names stay plain ASCII: a label with a quote ("residents' trust") breaks Vega's field access.
    area_layer = alt.Chart(alt.Data(name="areas")).mark_rect(stroke="#9e9e9e", strokeWidth=1).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q",
        color=alt.Color("trust:Q", title=trust_name,
                        scale=alt.Scale(domain=[max(0.0, initial_trust - 0.2), initial_trust, min(1.0, initial_trust + 0.2)],
                                        range=TRUST_RANGE, clamp=True),
                        legend=alt.Legend(title=trust_name, orient="right", gradientLength=110, format=".1f")),
        tooltip=[alt.Tooltip("area:N", title=area_name), alt.Tooltip("grid:N", title=grid_name),
                 alt.Tooltip("residents:Q", title=label("unit_residents", lang)), alt.Tooltip("trust:Q", title=trust_name)],
    )
    area_labels = alt.Chart(alt.Data(name="areas")).mark_text(align="left", baseline="top", fontSize=9, color="#555555").encode(
        x=alt.X("lx:Q", scale=xs, axis=None), y=alt.Y("ly:Q", scale=ys, axis=None), text="area:N")
    grid_layer = alt.Chart(alt.Data(name="grids")).mark_rect(fill="transparent", stroke="#263238", strokeWidth=2.5).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q")
    grid_labels = alt.Chart(alt.Data(name="grids")).mark_text(align="left", baseline="bottom", fontSize=13, color="#263238",
                                                              fontWeight="bold").encode(
        x=alt.X("lx:Q", scale=xs, axis=None), y=alt.Y("ly:Q", scale=ys, axis=None), text="name:N")
    who = label("staff_on_map", lang)
    staff_names = [label(k, lang) for k in STAFF_MARKS]
    staff = alt.Chart(alt.Data(name="staff")).mark_point(filled=True, opacity=0.9).encode(
        x=x, y=y,
        color=alt.Color("who:N", title=who, scale=alt.Scale(domain=staff_names, range=[c for c, _ in STAFF_MARKS.values()]),
                        legend=alt.Legend(title=who, orient="right", labelLimit=230)),
        shape=alt.Shape("who:N", title=who, scale=alt.Scale(domain=staff_names, range=[s for _, s in STAFF_MARKS.values()])),
        size=alt.Size("size:Q", legend=None, scale=None),
        tooltip=[alt.Tooltip("name:N", title=who)],
    )
    step_title, deadline_title = label("open_case_step", lang), label("deadline", lang)
    deadline_names = [label("within_deadline", lang), label("overdue", lang)]
    cases = alt.Chart(alt.Data(name="cases")).mark_point(filled=True, size=70, stroke="#ffffff", strokeWidth=1).encode(
        x=x, y=y,
        color=alt.Color("step:N", scale=alt.Scale(domain=[label(s, lang) for s in STEP_COLOURS], range=list(STEP_COLOURS.values())),
                        legend=alt.Legend(title=step_title, orient="right")),
        shape=alt.Shape("deadline:N", scale=alt.Scale(domain=deadline_names, range=["circle", "triangle-up"]),
                        legend=alt.Legend(title=deadline_title, orient="right")),
        tooltip=[alt.Tooltip("type:N", title=label("cases_arrived", lang)), alt.Tooltip("step:N", title=step_title),
                 alt.Tooltip("deadline:N", title=deadline_title), alt.Tooltip("area:N", title=area_name)],
    )
    chart = (alt.layer(area_layer, area_labels, grid_layer, grid_labels, staff, cases)
             .resolve_scale(color="independent", shape="independent"))
    return spec(chart, *MAP_SIZE)


def _staff_rows(model, lang: str) -> list[dict]:
    sm = model.map
    _, area_names = place_names(model, lang)
    office, committee = label("street_office", lang), label("committee_office", lang)
    rows = [{"who": office, "name": office, "x": sm.office[0] + 0.5, "y": sm.office[1] + 0.5, "size": 260}]
    for i, (cx, cy) in sm.committee_offices():
        rows.append({"who": committee, "name": f"{committee} · {area_names[i]}", "x": cx + 0.5, "y": cy + 0.5, "size": 60})
    supervisor = label("grid_supervisors", lang)
    for w in model.supervisors():
        cx, cy = sm.supervisor_cell(w)
        rows.append({"who": supervisor, "name": f"{supervisor} {w.unique_id}",
                     "x": cx + 0.5 + _jitter(w.unique_id, 1) / 2, "y": cy + 0.5 + _jitter(w.unique_id, 2) / 2, "size": 45})
    officer = label("enforcement_officer", lang)
    for team, slot, size, w in model.enforcement_units():
        cx, cy = sm.unit_cell(w, slot, size)
        rows.append({"who": officer, "name": f"{label(team, lang)} {slot + 1}",
                     "x": cx + 0.5 + _jitter(w.unique_id, 3) / 2, "y": cy + 0.5 + _jitter(w.unique_id, 4) / 2, "size": 22})
    return rows


def _case_rows(model, lang: str) -> list[dict]:
    sm = model.map
    _, area_names = place_names(model, lang)
    late, fine = label("overdue", lang), label("within_deadline", lang)
    rows = []
    for case, overdue in model.open_cases_now():
        cx, cy = sm.case_cell(case)
        rows.append({"x": cx + 0.5 + _jitter(case.id, 5), "y": cy + 0.5 + _jitter(case.id, 6),
                     "type": label(case.type, lang), "step": label(case.step, lang),
                     "deadline": late if overdue else fine, "area": area_names[case.area]})
    return rows


# ------------------------------------------------------------------------------- live charts
def _day_rows(runs, columns) -> list[dict]:
    """Daily rows of every run (``series``: the run's name), straight from Mesa's DataCollector."""
    rows = []
    for name, model in runs:
        data = model.datacollector.model_vars
        for i, day in enumerate(data["day"]):
            row = {"series": name, "day": day}
            for c in columns:
                v = data[c][i]
                row[c] = None if v is None or v != v else v  # NaN -> null (JSON has no NaN)
            rows.append(row)
    return rows


def _names(runs) -> tuple[str, ...]:
    return tuple(n for n, _ in runs)


def _series_legend(names):
    return alt.Legend(title=None, orient="top") if len(names) > 1 else None


def _day_axis(lang):
    return alt.X("day:Q", title=label("day", lang), axis=alt.Axis(format="d", tickMinStep=1))


def backlog_chart(runs, lang: str) -> tuple[dict, dict]:
    """Open cases in each step of the loop, day by day (dashed: the scenario as loaded)."""
    columns = [f"backlog_{s}" for s in STEP_COLOURS]
    rows = [{"series": r["series"], "day": r["day"], "step": label(c.removeprefix("backlog_"), lang), "cases": r[c]}
            for r in _day_rows(runs, columns) for c in columns]
    return _backlog_template(lang, _names(runs)), {"days": rows}


@functools.cache
def _backlog_template(lang, names) -> dict:
    chart = alt.Chart(alt.Data(name="days")).mark_line().encode(
        x=_day_axis(lang), y=alt.Y("cases:Q", title=label("open_cases", lang)),
        color=alt.Color("step:N", scale=alt.Scale(domain=[label(s, lang) for s in STEP_COLOURS], range=list(STEP_COLOURS.values())),
                        legend=alt.Legend(title=None, orient="right")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=list(names), range=SERIES_DASH[:len(names)]),
                                  legend=_series_legend(names)),
        detail="series:N",
        tooltip=["series:N", "day:Q", "step:N", "cases:Q"],
    ).properties(title=label("backlog_by_step", lang))
    return spec(chart, *CHART_SIZE)


def on_time_chart(runs, lang: str) -> tuple[dict, dict]:
    """Share on time as residents see it, among cases whose fate is known, to date."""
    # days with no value yet stay in (a gap in the line), so the day axis is never empty
    return _on_time_template(lang, _names(runs)), {"days": _day_rows(runs, ["on_time_resident"])}


@functools.cache
def _on_time_template(lang, names) -> dict:
    chart = alt.Chart(alt.Data(name="days")).mark_line(invalid=None).encode(
        x=_day_axis(lang),
        y=alt.Y("on_time_resident:Q", title=None, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("series:N", scale=alt.Scale(domain=list(names), range=SERIES_COLOURS[:len(names)]),
                        legend=_series_legend(names)),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=list(names), range=SERIES_DASH[:len(names)]),
                                  legend=_series_legend(names)),
        tooltip=["series:N", "day:Q", alt.Tooltip("on_time_resident:Q", format=".1%")],
    ).properties(title=label("on_time_so_far", lang))
    return spec(chart, *CHART_SIZE)


def utilisation_chart(runs, lang: str) -> tuple[dict, dict]:
    """Worked over available hours by role (overtime excluded), afresh from the warm-up's end."""
    rows = []
    for name, model in runs:
        for role, team in model.teams.items():
            u = model.utilisation(team)
            if not math.isnan(u):
                rows.append({"series": name, "role": label(role, lang), "utilisation": u, "staff": team.staff})
    roles = tuple(label(r, lang) for r in runs[0][1].teams)
    return _utilisation_template(lang, _names(runs), roles), {"roles": rows}


@functools.cache
def _utilisation_template(lang, names, roles) -> dict:
    bars = alt.Chart(alt.Data(name="roles")).mark_bar().encode(
        y=alt.Y("role:N", title=None, sort=list(roles), axis=alt.Axis(labelLimit=200)),
        x=alt.X("utilisation:Q", title=None, scale=alt.Scale(domain=[0, 1.2]), axis=alt.Axis(format="%")),
        color=alt.Color("series:N", scale=alt.Scale(domain=list(names), range=SERIES_COLOURS[:len(names)]),
                        legend=_series_legend(names)),
        yOffset=alt.YOffset("series:N", sort=list(names)),
        tooltip=["series:N", "role:N", "staff:Q", alt.Tooltip("utilisation:Q", format=".1%")],
    )
    full = alt.Chart(pd.DataFrame({"u": [1.0]})).mark_rule(color="#d62728", strokeDash=[4, 3]).encode(x="u:Q")
    return spec(alt.layer(bars, full).properties(title=label("utilisation_by_role", lang)), *CHART_SIZE)


def trust_chart(runs, lang: str) -> tuple[dict, dict]:
    """Residents' mean trust and the mean satisfaction of closed cases."""
    measures = {"mean_trust": label("trust", lang), "resident_satisfaction": label("satisfaction", lang)}
    rows = [{"series": r["series"], "day": r["day"], "measure": measures[c], "value": r[c]}
            for r in _day_rows(runs, list(measures)) for c in measures if r[c] is not None]
    return _trust_template(lang, _names(runs)), {"days": rows}


@functools.cache
def _trust_template(lang, names) -> dict:
    measures = [label("trust", lang), label("satisfaction", lang)]
    chart = alt.Chart(alt.Data(name="days")).mark_line().encode(
        x=_day_axis(lang), y=alt.Y("value:Q", title=None, scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", scale=alt.Scale(domain=measures, range=["#2ca02c", "#ff7f0e"]),
                        legend=alt.Legend(title=None, orient="right")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=list(names), range=SERIES_DASH[:len(names)]),
                                  legend=_series_legend(names)),
        detail="series:N",
        tooltip=["series:N", "day:Q", "measure:N", alt.Tooltip("value:Q", format=".3f")],
    ).properties(title=label("trust_and_satisfaction", lang))
    return spec(chart, *CHART_SIZE)


CHARTS = (backlog_chart, on_time_chart, utilisation_chart, trust_chart)
