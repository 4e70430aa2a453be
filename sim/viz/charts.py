"""Altair drawings of the street: the map and the live charts.

Colours are CSS names or hex codes only: Vega-Lite does not know matplotlib's ``tab:blue`` and
silently drops such colours.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

STEP_COLOURS = {"register": "#1f77b4", "dispatch": "#ff7f0e", "handle": "#2ca02c", "close": "#9467bd"}
OVERDUE = {"on time": "circle", "overdue": "triangle-up"}
STAFF_MARKS = {  # who -> (colour, shape)
    "grid supervisor": ("#111111", "diamond"),
    "enforcement unit": ("#8c564b", "square"),
    "committee office": ("#e377c2", "cross"),
    "street office": ("#d62728", "triangle-down"),
}
TRUST_RANGE = ["#fbe3d6", "#e5f5e0"]  # low trust -> high trust (area fill)
MAP_WIDTH = 580
CHART_WIDTH = 440
CHART_HEIGHT = 170


def _jitter(i: int, salt: int) -> float:
    """A fixed offset in (-0.35, 0.35) so cases in one cell do not hide each other."""
    return ((i * 2654435761 + salt * 40503) % 1000) / 1000 * 0.7 - 0.35


def map_chart(model) -> alt.LayerChart:
    """Zones (grids, residential areas coloured by trust), staff and open cases, with legends."""
    sm = model.map
    xs = alt.Scale(domain=[0, sm.width], nice=False, zero=False)
    ys = alt.Scale(domain=[0, sm.height], nice=False, zero=False, reverse=True)
    x, y = alt.X("x:Q", scale=xs, axis=None), alt.Y("y:Q", scale=ys, axis=None)
    areas = pd.DataFrame([
        {"x": z.x0 + 0.15, "x2": z.x1 - 0.15, "y": z.y0 + 0.15, "y2": z.y1 - 0.15, "area": f"area {i + 1}",
         "grid": f"grid {z.grid + 1}", "residents": model.areas[i].population, "trust": round(model.areas[i].mean_trust(), 3)}
        for i, z in sm.area_zones.items()
    ])
    grids = pd.DataFrame([
        {"x": z.x0, "x2": z.x1, "y": z.y0, "y2": z.y1, "label": f"grid {z.index + 1}", "lx": z.x0 + 0.3, "ly": z.y0 + 0.6}
        for z in sm.grid_zones
    ])
    trust_cfg = model.settings.behaviour.trust
    area_layer = alt.Chart(areas).mark_rect(stroke="#9e9e9e", strokeWidth=1).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q",
        color=alt.Color("trust:Q", scale=alt.Scale(domain=[max(0.0, trust_cfg.initial - 0.2), min(1.0, trust_cfg.initial + 0.2)],
                                                   range=TRUST_RANGE, clamp=True),
                        legend=alt.Legend(title="area trust", orient="bottom", gradientLength=120)),
        tooltip=["area:N", "grid:N", "residents:Q", "trust:Q"],
    )
    grid_layer = alt.Chart(grids).mark_rect(fill="transparent", stroke="#37474f", strokeWidth=2.5).encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q")
    grid_labels = alt.Chart(grids).mark_text(align="left", baseline="top", fontSize=11, color="#37474f", fontWeight="bold").encode(
        x=alt.X("lx:Q", scale=xs, axis=None), y=alt.Y("ly:Q", scale=ys, axis=None), text="label:N")
    staff = alt.Chart(_staff_frame(model)).mark_point(filled=True, size=55, opacity=0.9).encode(
        x=x, y=y,
        color=alt.Color("who:N", scale=alt.Scale(domain=list(STAFF_MARKS), range=[c for c, _ in STAFF_MARKS.values()]),
                        legend=alt.Legend(title="staff", orient="bottom", direction="horizontal", columns=2)),
        shape=alt.Shape("who:N", scale=alt.Scale(domain=list(STAFF_MARKS), range=[s for _, s in STAFF_MARKS.values()])),
        tooltip=["who:N", "name:N"],
    )
    cases = alt.Chart(_case_frame(model)).mark_point(filled=True, size=45, strokeWidth=1.2).encode(
        x=x, y=y,
        color=alt.Color("step:N", scale=alt.Scale(domain=list(STEP_COLOURS), range=list(STEP_COLOURS.values())),
                        legend=alt.Legend(title="open case: step", orient="bottom", direction="horizontal")),
        shape=alt.Shape("deadline:N", scale=alt.Scale(domain=list(OVERDUE), range=list(OVERDUE.values())),
                        legend=alt.Legend(title="open case: deadline", orient="bottom", direction="horizontal")),
        stroke=alt.condition(alt.datum.deadline == "overdue", alt.value("#d62728"), alt.value("white")),
        tooltip=["case:N", "type:N", "step:N", "deadline:N", "area:N"],
    )
    height = max(160, round(MAP_WIDTH * sm.height / sm.width))
    return (
        alt.layer(area_layer, grid_layer, grid_labels, staff, cases)
        .resolve_scale(color="independent", shape="independent")
        .properties(width=MAP_WIDTH, height=height, title=f"{model.settings.name}: day {model.day}")
    )


def _staff_frame(model) -> pd.DataFrame:
    sm = model.map
    rows = [{"who": "street office", "name": "street office (grid centre, acceptance centre)",
             "x": sm.office[0] + 0.5, "y": sm.office[1] + 0.5}]
    for i, (cx, cy) in sm.committee_offices():
        rows.append({"who": "committee office", "name": f"committee, area {i + 1}", "x": cx + 0.5, "y": cy + 0.5})
    for w in model.supervisors():
        cx, cy = sm.supervisor_cell(w)
        rows.append({"who": "grid supervisor", "name": f"supervisor {w.unique_id}",
                     "x": cx + 0.5 + _jitter(w.unique_id, 1) / 2, "y": cy + 0.5 + _jitter(w.unique_id, 2) / 2})
    units = model.enforcement_units()
    for slot, (team, w) in enumerate(units):
        cx, cy = sm.unit_cell(w, slot, len(units))
        rows.append({"who": "enforcement unit", "name": f"{team} {w.unique_id}",
                     "x": cx + 0.5 + _jitter(w.unique_id, 3) / 2, "y": cy + 0.5 + _jitter(w.unique_id, 4) / 2})
    return pd.DataFrame(rows)


def _case_frame(model) -> pd.DataFrame:
    sm = model.map
    rows = []
    for case, overdue in model.open_cases_now():
        cx, cy = sm.case_cell(case)
        rows.append({"x": cx + 0.5 + _jitter(case.id, 5), "y": cy + 0.5 + _jitter(case.id, 6), "case": case.id,
                     "type": case.type, "step": case.step, "deadline": "overdue" if overdue else "on time",
                     "area": f"area {case.area + 1}"})
    return pd.DataFrame(rows, columns=["x", "y", "case", "type", "step", "deadline", "area"])


# ------------------------------------------------------------------------------- live charts
def _days(model) -> pd.DataFrame:
    return model.datacollector.get_model_vars_dataframe()


def backlog_chart(model) -> alt.Chart:
    """Open cases in each step of the loop, day by day."""
    df = _days(model)
    long = df.melt(id_vars=["day"], value_vars=[f"backlog_{s}" for s in STEP_COLOURS], var_name="step", value_name="cases")
    long["step"] = long["step"].str.removeprefix("backlog_")
    return alt.Chart(long).mark_line(point=len(df) < 40).encode(
        x=alt.X("day:Q", title="day", axis=alt.Axis(format="d", tickMinStep=1)), y=alt.Y("cases:Q", title="open cases"),
        color=alt.Color("step:N", scale=alt.Scale(domain=list(STEP_COLOURS), range=list(STEP_COLOURS.values())),
                        legend=alt.Legend(title="step", orient="right")),
        tooltip=["day:Q", "step:N", "cases:Q"],
    ).properties(width=CHART_WIDTH, height=CHART_HEIGHT, title="Backlog by step")


def on_time_chart(model) -> alt.Chart:
    """Share closed on time among cases whose fate is known, to date."""
    df = _days(model)[["day", "on_time_rate"]].dropna()
    return alt.Chart(df).mark_line(color="#1f77b4", point=len(df) < 40).encode(
        x=alt.X("day:Q", title="day", axis=alt.Axis(format="d", tickMinStep=1)), y=alt.Y("on_time_rate:Q", title="on-time rate", scale=alt.Scale(domain=[0, 1])),
        tooltip=["day:Q", alt.Tooltip("on_time_rate:Q", format=".1%")],
    ).properties(width=CHART_WIDTH, height=CHART_HEIGHT, title="On-time closure (to date)")


def utilisation_chart(model) -> alt.Chart:
    """Worked over available hours by role (overtime excluded), since the warm-up."""
    rows = [{"role": name, "utilisation": u, "staff": team.staff}
            for name, team in model.teams.items() if not math.isnan(u := model.utilisation(team))]
    df = pd.DataFrame(rows, columns=["role", "utilisation", "staff"])
    bars = alt.Chart(df).mark_bar(color="#4c78a8").encode(
        y=alt.Y("role:N", title=None, sort=list(model.teams)),
        x=alt.X("utilisation:Q", title="utilisation", scale=alt.Scale(domain=[0, 1.2])),
        color=alt.condition(alt.datum.utilisation > 0.85, alt.value("#d62728"), alt.value("#4c78a8")),
        tooltip=["role:N", "staff:Q", alt.Tooltip("utilisation:Q", format=".1%")],
    )
    full = alt.Chart(pd.DataFrame({"u": [1.0]})).mark_rule(color="#555555", strokeDash=[4, 3]).encode(x="u:Q")
    return alt.layer(bars, full).properties(width=CHART_WIDTH, height=CHART_HEIGHT + 40, title="Utilisation by role")


def trust_chart(model) -> alt.Chart:
    """Residents' mean trust and the mean satisfaction of closed cases."""
    df = _days(model)
    long = df.melt(id_vars=["day"], value_vars=["mean_trust", "resident_satisfaction"], var_name="measure", value_name="value").dropna()
    long["measure"] = long["measure"].map({"mean_trust": "trust", "resident_satisfaction": "satisfaction"})
    return alt.Chart(long).mark_line(point=len(df) < 40).encode(
        x=alt.X("day:Q", title="day", axis=alt.Axis(format="d", tickMinStep=1)), y=alt.Y("value:Q", title="0 to 1", scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("measure:N", scale=alt.Scale(domain=["trust", "satisfaction"], range=["#2ca02c", "#ff7f0e"]),
                        legend=alt.Legend(title=None, orient="right")),
        tooltip=["day:Q", "measure:N", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=CHART_WIDTH, height=CHART_HEIGHT, title="Residents: trust and satisfaction")
