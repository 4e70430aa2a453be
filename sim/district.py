"""A district or a whole city: several streets and towns run as one, KPIs per street, per
district and in total.

A city file is a district file whose streets name their ``district:``; its run adds a table per
district. Streets run as independent jobs (local processes or a Dask cluster), largest first so
the last street to finish is a short one, and results come back in file order, so they do not
depend on the number of workers or where they ran.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError

from sim import results_folder
from sim import scenario as scenario_mod
from sim.scenario import ScenarioError, Strict, Text, TextLine

if TYPE_CHECKING:  # pandas loads when a district runs, not when its file is checked
    import pandas as pd

# The KPIs printed per street and per district (mean over replications); every KPI is in the CSVs.
TABLE_KPIS = ("cases_arrived", "on_time_resident", "wait_mean_days", "resident_satisfaction", "staff_total")
TABLE_HEADER_WIDTH = 20  # columns a KPI's label wraps within: a Chinese label breaks before its unit


class StreetEntry(Strict):
    name: str
    district: TextLine = Field("", description="the district the street belongs to (a city file groups its streets so)")
    scenario: str = Field(description="scenario file, relative to the district file")
    set: dict[str, Any] = Field({}, description="key.path: value overrides, as with --set")


class District(Strict):
    name: str = Field(min_length=1, pattern=scenario_mod.SAFE_NAME)
    description: Text = ""
    streets: list[StreetEntry] = Field(min_length=1, max_length=500)  # a district has ~10-20; each is loaded and run

    def groups(self) -> dict[str, list[str]]:
        """District name -> its streets, in file order; empty when no street names a district."""
        out: dict[str, list[str]] = {}
        for entry in self.streets:
            if entry.district:
                out.setdefault(entry.district, []).append(entry.name)
        return out


def is_district_file(path) -> bool:
    return is_district(scenario_mod.load_raw(path))


def is_district(raw: dict) -> bool:
    """``raw`` (a file's sim.scenario.load_raw) is a district or city file's."""
    return "streets" in raw


def load(path, overrides: list[str] | None = None, read: list | None = None,
         raw: dict | None = None) -> tuple[District, dict]:
    """The district and each street's scenario (street name -> Scenario); ``read`` as
    sim.scenario.load_raw's: the district file, then each street's scenario file once. ``raw``:
    the district file's load_raw, if the caller has read it (then ``read`` holds it already)."""
    path = Path(path)
    try:
        raw = scenario_mod.load_raw(path, read=read) if raw is None else raw
        district = District.model_validate(raw)
    except ValidationError as e:
        raise scenario_mod.format_validation_error(path, e) from None
    if district.groups() and not all(e.district for e in district.streets):
        missing = next(i for i, e in enumerate(district.streets) if not e.district)
        raise ScenarioError(path, f"streets.{missing}.district", "name a district for every street or for none")
    streets, bases = {}, {}
    for i, entry in enumerate(district.streets):
        clash = results_folder.subfolder_name_clash(entry.name, streets, beside_own_files=False)
        if clash:
            raise ScenarioError(path, f"streets.{i}.name", f"each street's results go into a folder of its name: {clash}")
        # an empty name, a name past what the system allows, a missing file: one line on this key
        base_path = scenario_mod.referenced_file(path, f"streets.{i}.scenario", path.parent, entry.scenario)
        if base_path not in bases:  # a city's 213 streets share a few scenario files: read each once
            try:
                bases[base_path] = scenario_mod.load_raw(base_path, read=read)
            except ScenarioError as e:
                if e.key:
                    raise
                raise ScenarioError(path, f"streets.{i}.scenario", f"{entry.scenario}: {e.message}") from None
            if isinstance(bases[base_path], dict) and "streets" in bases[base_path]:
                raise ScenarioError(path, f"streets.{i}.scenario", f"{entry.scenario} is a district file "
                                    "(it has streets:); a street names a scenario file")  # fmt: skip
        raw = scenario_mod.apply_overrides(street_scenario(bases[base_path], entry, i, base_path, path), overrides, path)
        raw["name"] = entry.name
        streets[entry.name] = scenario_mod.build(raw, f"{path} (streets.{i}: {entry.name})")
        first = next(iter(streets.values())).horizon
        if streets[entry.name].horizon != first:
            raise ScenarioError(path, f"streets.{i}", "every street must share one horizon (days, warm-up, start weekday)")
    return district, streets


def street_scenario(base: dict, entry: StreetEntry, i: int, base_path: Path, path: Path) -> dict:
    """A copy of ``base`` with the street's ``set:`` applied, each key path as written (not
    through --set's KEY=VALUE text, where a key holding "=" would split); an error names
    ``streets.I.set.KEY`` in the district file."""
    raw = copy.deepcopy(base)
    for key, value in entry.set.items():
        try:
            keys = scenario_mod.key_path(key)
        except ValueError:
            raise ScenarioError(path, f"streets.{i}.set.{key}", "an empty part between dots") from None
        scenario_mod.set_key(raw, keys, value, base_path, named=(path, f"streets.{i}.set.{key}"))
    return raw




def street_seeds(seed: int, replications: int, n_streets: int):
    """Replication r of street s: independent streams for every street and replication."""
    import numpy as np

    return [rep.spawn(n_streets) for rep in np.random.SeedSequence(seed).spawn(replications)]


def street_jobs(streets: dict, seed: int, replications: int) -> list[tuple]:
    """``(settings, seed_seq, replication)`` for every street and replication, street by street."""
    seeds = street_seeds(seed, replications, len(streets))
    return [(s, seeds[r][k], r) for k, s in enumerate(streets.values()) for r in range(replications)]


def run_streets(jobs: list[tuple], workers: int, progress: bool, label: str, scheduler: str | None = None,
                keep=None) -> list:  # fmt: skip
    """Run the jobs, biggest street first, on local processes or the Dask scheduler at
    ``scheduler``; results in job order. ``keep(i, result)``: see sim.runner.run_many (``i`` is
    the job's index in ``jobs``)."""
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][0].street.residents)  # stable: ties keep file order
    ordered = [jobs[i] for i in order]
    keep_ordered = None if keep is None else (lambda j, result: keep(order[j], result))
    if scheduler:
        done = _run_on_dask(ordered, scheduler, progress, label, keep_ordered)
    else:
        from sim import runner

        done = runner.run_many(ordered, workers, progress, label, keep_ordered)
    results = [None] * len(jobs)
    for i, result in zip(order, done):
        results[i] = result
    return results


def _run_on_dask(jobs: list[tuple], scheduler: str, progress: bool, label: str, keep=None) -> list:
    import sys

    from dask.distributed import Client, as_completed
    from tqdm import tqdm

    from sim import runner

    keep = keep or runner.keep_whole
    with Client(scheduler) as client:
        futures = client.map(runner.run_replication, *zip(*jobs), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results = [None] * len(jobs)
        with tqdm(total=len(jobs), desc=label, unit="run", disable=not progress, file=sys.stderr) as bar:
            for f in as_completed(futures):
                results[index[f.key]] = keep(index[f.key], f.result())
                f.release()  # the cluster may drop its copy
                bar.update(1)
        return results


class StreetTables:
    """Writes each street's tables (``folder/<street>/``) once all its replications are in, then
    keeps of its cases only what the district and city totals need: a city's 16 million cases
    are never all in memory at once (a city year peaked at 17.7 GB holding them)."""

    def __init__(self, folder: Path, streets: dict, replications: int):
        self.folder, self.streets, self.replications = folder, streets, replications
        self.names = list(streets)
        self.waiting: dict[str, list] = {}  # a street's results so far

    def keep(self, i: int, result):
        """For run_streets: job ``i`` (street ``i // replications``) has given ``result``."""
        k = i // self.replications
        name = self.names[k]
        got = self.waiting.setdefault(name, [])
        got.append(result)
        if len(got) == self.replications:
            from sim import metrics, runner

            results = sorted(self.waiting.pop(name), key=lambda r: r.index)
            runner.write_tables(self.folder / name, self.streets[name], results)
            h = self.streets[name].horizon
            for r in results:  # in place: results kept earlier are these objects
                r.case_totals = metrics.case_totals(r.cases, h.warmup_days * 24.0, h.days * 24.0)
                r.cases = None
        return result


# Street KPIs that add up over streets; the rest of a total row is computed from the streets'
# case totals (metrics.CaseTotals) and the summed staff hours.
SUMMED_KPIS = ("problems_undiscovered_at_end", "purchased_services_cost_per_year", "hotline_orders")


def district_kpis(street_results: dict[str, list], streets: dict) -> pd.DataFrame:
    """One row per replication: case KPIs over all streets' cases (from their ``case_totals``, as
    StreetTables.keep leaves them), staff KPIs summed by role.

    The survey, which samples one street's residents, stays per street (streets.csv)."""
    import numpy as np
    import pandas as pd

    from sim import metrics

    names = list(street_results)
    types = list(dict.fromkeys(t for n in names for t in streets[n].case_types))
    rows = []
    for r in range(len(street_results[names[0]])):
        results = [street_results[n][r] for n in names]
        row = {"replication": r, **metrics.case_kpis_of([res.case_totals for res in results], types)}
        residents = np.array([streets[n].street.residents for n in names], dtype=float)
        trust = np.array([res.kpis["resident_trust_end"] for res in results])
        row["resident_trust_end"] = float((trust * residents).sum() / residents.sum())
        for kpi in SUMMED_KPIS:
            row[kpi] = sum(res.kpis[kpi] for res in results)
        row["hotline_orders_on_time"] = _weighted(results, "hotline_orders_on_time", "hotline_orders")
        row.update(_summed_role_kpis(results))
        row["total_cost_per_year"] = row["staff_cost_per_year"] + row["purchased_services_cost_per_year"]
        rows.append(row)
    return pd.DataFrame(rows)


def _summed_role_kpis(results: list) -> dict[str, float]:
    """metrics.role_kpis over the streets' staff hours summed by role; queue waits are the
    streets' values weighted by their staff (the jobs' waits are not kept)."""
    import pandas as pd

    from sim import metrics

    roles = pd.concat([res.roles for res in results]).drop(columns="replication")
    roles["cost"] = roles["posts"] * roles["cost_per_year"]
    summed = roles.groupby("role", sort=False).sum(numeric_only=True).reset_index()
    # role_kpis multiplies posts by cost per year: give it the posts-weighted cost.
    summed["cost_per_year"] = summed["cost"] / summed["posts"].where(summed["posts"] > 0)
    out = metrics.role_kpis(summed.drop(columns="cost"))
    for role in summed["role"]:
        for prefix in ("queue_wait_hours_", "queue_wait_p90_hours_", "queue_waited_share_"):
            out[prefix + role] = _weighted(results, prefix + role, "staff_" + role)
    return out


def _weighted(results, key, weight_key=None) -> float:
    """Mean of the streets' values of ``key`` (weighted by ``weight_key`` when given), NaNs left out."""
    import numpy as np

    values = np.array([res.kpis.get(key, np.nan) for res in results], dtype=float)
    weights = np.array([res.kpis.get(weight_key, 1.0) if weight_key else 1.0 for res in results], dtype=float)
    ok = ~np.isnan(values) & (weights > 0)
    return float((values[ok] * weights[ok]).sum() / weights[ok].sum()) if ok.any() else float("nan")


def per_district_kpis(dist: District, street_results: dict[str, list], streets: dict) -> pd.DataFrame:
    """District totals, one row per district and replication (empty when streets name no district)."""
    import pandas as pd

    frames = []
    for name, members in dist.groups().items():
        totals = district_kpis({n: street_results[n] for n in members}, {n: streets[n] for n in members})
        frames.append(totals.assign(district=name, streets=len(members)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def street_table(dist: District, street_results: dict[str, list]) -> pd.DataFrame:
    """Every street's KPIs, one row per street and replication, with its district."""
    import pandas as pd

    district_of = {e.name: e.district for e in dist.streets}
    frames = [pd.DataFrame([r.kpis for r in res]).assign(street=n, district=district_of[n])
              for n, res in street_results.items()]
    table = pd.concat(frames, ignore_index=True)
    return table if dist.groups() else table.drop(columns="district")


def mean_table(table, by: str) -> pd.DataFrame:
    """Mean over replications of the printed KPIs, one row per ``by``."""
    cols = [c for c in TABLE_KPIS if c in table.columns]
    return table.groupby(by, sort=False)[cols].mean()


def mean_table_text(table, by: str, lang: str) -> str:
    """``mean_table`` as the terminal prints it, in ``lang``: each KPI headed by its label and unit
    (as the comparison above it and the annex's table of streets), numbers as sim.cells prints them."""
    from tabulate import tabulate

    from sim.cells import terminal_number
    from sim.labels import label_with_unit, word

    means = mean_table(table, by)
    body = [[name, *(terminal_number(v, lang) for v in row)] for name, row in means.iterrows()]
    headers = [word(by, lang), *(label_with_unit(k, lang) for k in means.columns)]
    return tabulate(body, headers, tablefmt="simple", disable_numparse=True,
                    colalign=("left", *("right",) * len(means.columns)),
                    maxheadercolwidths=[None, *(TABLE_HEADER_WIDTH,) * len(means.columns)])
