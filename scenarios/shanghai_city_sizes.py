"""How shanghai_city.yaml's per-street sizes were made (rerun to regenerate the file).

    .venv/bin/python scenarios/shanghai_city_sizes.py > scenarios/shanghai_city.yaml

City totals are the sources' (domain.md): 213 streets and towns, 4,563 residents' committees
(residential areas), 1,829 responsibility grids. Changning is source 001's district, split as in
changning_district.yaml. Everything else is an assumption, said so in the file it writes:
each district's streets/towns, residents and land area (approximate 2015 figures for Shanghai's 16
districts; no seed article gives them), the split of committees and grids between districts, and
each street's share of its district (a seeded draw around the district mean).
"""

from __future__ import annotations

import random

CITY_COMMITTEES = 4563  # domain.md: residents' committees, 2021
CITY_GRIDS = 1829  # domain.md: responsibility grids, 2016
CITY_STREETS = 213  # domain.md: streets and towns
ORGS_PER_RESIDENT = 1200 / 78000  # reform_2015.yaml: "two new" organisations (an assumption there)
TASKS_PER_WEEK = {  # reform_2015.yaml's devolved tasks, per residential area or per resident
    "committee_workers": ("residential_areas", 1000 / 19),
    "community_workers": ("residents", 15 / 78000),
    "party_workers": ("residents", 10 / 78000),
}

# district: (streets and towns, residents, land km2). Xuhui's 13 is source 000, Changning's row
# source 001; the rest are approximate 2015 figures (an assumption: no seed article gives them).
DISTRICTS = {
    "huangpu": (10, 659_000, 20.5),
    "xuhui": (13, 1_089_000, 54.8),
    "changning": (10, 782_000, 37.2),
    "jingan": (14, 1_072_000, 36.9),
    "putuo": (10, 1_288_000, 54.8),
    "hongkou": (8, 797_000, 23.5),
    "yangpu": (12, 1_313_000, 60.7),
    "minhang": (13, 2_543_000, 370.8),
    "baoshan": (12, 2_030_000, 270.9),
    "jiading": (10, 1_569_000, 464.2),
    "pudong": (36, 5_475_000, 1210.4),
    "jinshan": (10, 801_000, 586.1),
    "songjiang": (15, 1_756_000, 605.6),
    "qingpu": (11, 1_209_000, 670.1),
    "fengxian": (11, 1_163_000, 687.4),
    "chongming": (18, 696_000, 1185.5),
}
CHANGNING = {  # changning_district.yaml: name -> (residents, residential areas, grids)
    "huayang": (70000, 17, 3), "jiangsu_road": (55000, 13, 3), "xinhua_road": (68000, 16, 3),
    "zhoujiaqiao": (78000, 18, 3), "tianshan_road": (95000, 22, 4), "xianxia_xincun": (92000, 22, 4),
    "hongqiao": (60000, 14, 3), "chengjiaqiao": (75000, 18, 3), "beixinjing": (82000, 20, 3),
    "xinjing_town": (107000, 25, 4),
}
STREET_SPREAD_CV = 0.35  # assumption: streets within a district differ by about a third in size


def split(total: int, weights: list[float], minimum: int = 1) -> list[int]:
    """``total`` in whole units in proportion to ``weights`` (largest remainder), each >= minimum."""
    rest = total - minimum * len(weights)
    shares = [rest * w / sum(weights) for w in weights]
    units = [int(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: units[i] - shares[i])
    for i in by_remainder[: rest - sum(units)]:
        units[i] += 1
    return [u + minimum for u in units]


def district_totals() -> dict[str, tuple[int, int]]:
    """Committees and grids per district: Changning's from 001, the rest of the city's totals split
    over the other districts (committees by residents; grids half by residents, half by land area,
    since grids are drawn over territory and population alike: an assumption)."""
    others = [d for d in DISTRICTS if d != "changning"]
    residents = [DISTRICTS[d][1] for d in others]
    area = [DISTRICTS[d][2] for d in others]
    committees = split(CITY_COMMITTEES - 185, residents)
    grid_weight = [r / sum(residents) + a / sum(area) for r, a in zip(residents, area)]
    grids = split(CITY_GRIDS - 33, grid_weight)
    totals = {d: (c, g) for d, c, g in zip(others, committees, grids)}
    totals["changning"] = (185, 33)
    return totals


def streets() -> list[dict]:
    rng = random.Random(2016)
    totals = district_totals()
    rows = []
    for district, (n, residents, area) in DISTRICTS.items():
        if district == "changning":
            sizes = list(CHANGNING.values())
            names = list(CHANGNING)
        else:
            weights = [rng.lognormvariate(0, STREET_SPREAD_CV) for _ in range(n)]
            people = split(residents, weights, minimum=0)
            committees, grids = totals[district]
            sizes = list(zip(people, split(committees, people), split(grids, people)))
            names = [f"{district}_{i + 1:02d}" for i in range(n)]
        for name, (people, areas, grids) in zip(names, sizes):
            rows.append({"name": name, "district": district, "residents": people, "residential_areas": areas,
                         "grids": grids, "area_km2": round(area * grids / totals[district][1], 2)})
    return rows


def entry(row: dict) -> str:
    tasks = {role: round(row[unit] * rate) for role, (unit, rate) in TASKS_PER_WEEK.items()}
    sets = (f"street.residents: {row['residents']}, street.residential_areas: {row['residential_areas']}, "
            f"street.grids: {row['grids']}, street.two_new_orgs: {round(row['residents'] * ORGS_PER_RESIDENT)}, "
            f"street.area_km2: {row['area_km2']}, levers.devolved_tasks.tasks_per_week: "
            "{" + ", ".join(f"{k}: {v}" for k, v in tasks.items()) + "}")
    return f"  - {{name: {row['name']}, district: {row['district']}, scenario: shanghai_street.yaml, set: {{{sets}}}}}"


HEADER = """\
# Shanghai: all 213 streets and towns in 16 districts, one street-year each (issue 9's city run).
# Made by shanghai_city_sizes.py (rerun it rather than editing by hand); every street extends
# shanghai_street.yaml (reform_2015 with staff by ratio), so staff follow each street's size.
# Sources (domain.md): 213 streets/towns, 4,563 residents' committees (= residential areas),
# 1,829 responsibility grids; Changning's streets as in changning_district.yaml (001); Xuhui's 13
# streets/towns (000).
# assumption: streets per district, district residents and land area are approximate 2015
#   figures for Shanghai's 16 districts (no seed article gives them); they sum to 213 streets.
# assumption: committees are split between districts by residents, grids half by residents and
#   half by land area (grids cover territory and people; no source gives the rule).
# assumption: within a district, street sizes are a seeded draw about the district mean
#   (coefficient of variation 0.35), committees and grids split by residents, land by grids;
#   streets other than Changning's are numbered, not named.
# assumption: "two new" organisations and devolved tasks scale as in reform_2015.yaml
#   (1,200 organisations per 78,000 residents; 1,000 committee tasks a week per 19 areas;
#   15 and 10 a week per 78,000 residents for the community and party-mass workers).
name: shanghai_city
description: "Shanghai, 213 streets and towns in 16 districts (4,563 committees, 1,829 grids), after the 1+6 reform."
streets:"""


def main() -> None:
    rows = streets()
    assert len(rows) == CITY_STREETS
    assert sum(r["residential_areas"] for r in rows) == CITY_COMMITTEES
    assert sum(r["grids"] for r in rows) == CITY_GRIDS
    print(HEADER)
    for row in rows:
        print(entry(row))


if __name__ == "__main__":
    main()
