"""Little's law at every stage, conservation of cases, and reproducibility."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim import metrics, scenario
from sim.cases import STAGES
from sim.runner import replication_seeds, run_replication
from sim.street import StreetModel

REFORM = "scenarios/reform_2015.yaml"


@pytest.fixture(scope="module")
def reform_run():
    settings = scenario.load(REFORM, ["horizon.days=120"])
    model = StreetModel(settings, np.random.SeedSequence(11), hourly_stage_samples=True)
    model.run()
    return model, metrics.case_table(model)


def test_littles_law_holds_at_every_stage_of_the_reform_scenario(reform_run):
    """L sampled hourly from the live state equals lambda * W from the case records (within 3%)."""
    model, cases = reform_run
    T = model.env.now
    samples = pd.DataFrame([counts for _, counts in model.hourly_stage_samples])
    for stage, col in zip(STAGES, ("hours_in_register", "hours_in_dispatch", "hours_in_handle", "hours_in_close")):
        L_sampled = samples[stage].mean()
        lam = len(cases) / T
        W = cases[col].mean()
        assert L_sampled > 0.05, f"{stage}: the stage is never occupied; the test would say nothing"
        assert L_sampled == pytest.approx(lam * W, rel=0.03), f"{stage}: L={L_sampled:.3f}, lambda*W={lam * W:.3f}"


def test_every_case_is_closed_or_counted_open(reform_run):
    """Three independent counts agree: cases evaluated (counted when the loop ends), cases the
    records call closed, and cases the live stage counts hold (plus those yet to surface)."""
    model, cases = reform_run
    assert model.closed_count == int(cases["closed_flag"].sum())
    waiting_to_surface = int((cases["discovered"] > model.env.now).sum())
    assert len(cases) - model.closed_count == sum(model.in_stage.values()) + waiting_to_surface
    assert len(cases) > 10_000


def _places_from_the_case_table(cases, now):
    """Where each unevaluated case is, read from its record's times alone (not the live counts).
    A reopened case back in dispatch and a case in close look alike (both: last handled after last
    dispatched), so those two stages are counted together, and apart only for never-reopened cases."""
    open_ = cases["evaluated"].isna()
    discover = open_ & ((cases["discovered"] > now) | (cases["on_spot"] & cases["handled"].isna()))
    register = open_ & ~discover & cases["registered"].isna()
    later = open_ & cases["registered"].notna()
    handle = later & cases["dispatched"].notna() & (cases["handled"].isna() | (cases["dispatched"] > cases["handled"]))
    first = later & (cases["reopens"] == 0)
    return {
        "discover": int(discover.sum()), "register": int(register.sum()), "handle": int(handle.sum()),
        "dispatch+close": int((later & ~handle).sum()),
        "dispatch, never reopened": int((first & cases["dispatched"].isna()).sum()),
        "close, never reopened": int((first & ~handle & cases["handled"].notna()).sum()),
    }


def test_conservation_holds_under_overload_with_every_behaviour_on():
    """Too few staff, burnout exits and hiring delays: cases pile up, none are lost. The live
    counts (cases in each stage, or waiting at discovery) match the stages the case table's
    records put the open cases in, and arrivals = evaluations + cases in the loop."""
    settings = scenario.load(REFORM, [
        "horizon.days=60", "staffing.greening_office.count=3", "staffing.committee_workers.each=1",
        "behaviour.burnout.stress_gain_per_day=0.5", "behaviour.burnout.exit_probability_per_year_at_full_stress=1",
    ])
    model = StreetModel(settings, np.random.SeedSequence(3))
    model.run()
    cases = metrics.case_table(model)
    k = metrics.kpis(model, cases, metrics.roles_table(model))  # raises ConservationError on a mismatch
    table = _places_from_the_case_table(cases, model.env.now)
    live = model.in_stage
    assert model.at_discovery == table["discover"]
    assert live["register"] == table["register"]
    assert live["handle"] == table["handle"]
    assert live["dispatch"] + live["close"] == table["dispatch+close"]
    assert live["dispatch"] >= table["dispatch, never reopened"] and live["close"] >= table["close, never reopened"]
    closed = int(cases["closed_flag"].sum())
    assert len(cases) == closed + model.cases_in_loop()
    assert model.cases_in_loop() == int(cases["evaluated"].isna().sum())
    assert model.cases_in_loop() > 500  # the overload is real
    assert k["exits_greening_office"] + k["exits_committee_workers"] > 0
    assert k["utilisation_greening_office"] > 0.9


def test_conservation_check_catches_a_lost_case_and_one_too_many():
    metrics.check_conservation(10, 8, 2)
    with pytest.raises(metrics.ConservationError, match="cases lost: arrived 10 != closed 8 "):
        metrics.check_conservation(10, 8, 1)
    with pytest.raises(metrics.ConservationError, match="more cases closed or in the loop than arrived: arrived 10 "):
        metrics.check_conservation(10, 8, 3)


def _run_cli(tmp_path, name, seed, reps=2, extra=()):
    out = tmp_path / name
    subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", REFORM, "--replications", str(reps), "--seed", str(seed),
         "--set", "horizon.days=40", "--out", str(out), "--quiet", *extra],
        check=True, capture_output=True,
    )
    return out


def test_same_scenario_and_seed_give_byte_identical_summary(tmp_path):
    a = _run_cli(tmp_path, "a", 5)
    b = _run_cli(tmp_path, "b", 5)
    assert (a / "summary.csv").read_bytes() == (b / "summary.csv").read_bytes()
    c = _run_cli(tmp_path, "c", 6)
    assert (a / "summary.csv").read_bytes() != (c / "summary.csv").read_bytes()
    for f in ("cases.parquet", "timeseries.parquet", "scenario.resolved.yaml", "manifest.json"):
        assert (a / f).exists()
    cases = pd.read_parquet(a / "cases.parquet")
    summary = pd.read_csv(a / "summary.csv")
    assert len(summary) == 2
    assert cases.groupby("replication").size().tolist() == summary["cases_arrived"].add(
        cases[cases["discovered"] < 14 * 24].groupby("replication").size()).tolist()


def test_replications_get_independent_streams_and_do_not_depend_on_each_other():
    settings = scenario.load(REFORM, ["horizon.days=20"])
    seeds = replication_seeds(9, 3)
    first = [run_replication(settings, ss, i).kpis for i, ss in enumerate(seeds)]
    assert first[0]["cases_arrived"] != first[1]["cases_arrived"] or first[0]["wait_mean_days"] != first[1]["wait_mean_days"]
    again = run_replication(settings, replication_seeds(9, 3)[2], 2).kpis  # run alone
    assert again == first[2]


def test_a_seed_sequence_gives_the_same_streams_every_time_it_is_used():
    """compare hands one SeedSequence to every scenario: using it must not change it."""
    from sim.street import StreetModel

    ss = replication_seeds(3, 1)[0]
    settings = scenario.load(REFORM, ["horizon.days=2", "horizon.warmup_days=0"])
    a, b = StreetModel(settings, ss), StreetModel(settings, ss)
    first = [a.stream(p, 5).random() for p in ("grid", "requests", "organisations", "devolved")]
    again = [b.stream(p, 5).random() for p in ("grid", "requests", "organisations", "devolved")]
    assert first == again
    assert len(set(first)) == len(first)  # and the streams differ from each other
    assert a.stream("grid", 5).random() != a.stream("grid", 6).random()  # and from day to day


@pytest.mark.parametrize("entropy", [0, 1, 7, 2**32 - 1, 2**32, 2**100 + 12345, "os"])
@pytest.mark.parametrize("spawn_key", [(), (0,), (3,), (2, 2**33 + 1)])
def test_a_keyed_stream_is_numpys_seed_sequence_of_its_seed_spawn_key_and_purpose(entropy, spawn_key):
    """The street builds its streams from the seed's words (faster); the draws must be exactly
    those of ``SeedSequence(entropy, spawn_key=(*spawn_key, purpose, *key))``, numpy's own."""
    from sim.street import PURPOSES

    entropy = np.random.SeedSequence().entropy if entropy == "os" else entropy
    ss = np.random.SeedSequence(entropy, spawn_key=spawn_key)
    model = StreetModel(scenario.load(REFORM, ["horizon.days=1", "horizon.warmup_days=0"]), ss)
    for purpose, key in [("behaviour", (0, 0)), ("grid", (364, 2)), ("requests", (17, 4)), ("devolved", (2**31, 0))]:
        expected = np.random.default_rng(np.random.SeedSequence(
            entropy, spawn_key=(*spawn_key, PURPOSES.index(purpose), *key))).random(4)
        assert model.stream(purpose, *key).random(4).tolist() == expected.tolist(), (purpose, key)


def test_a_team_draws_its_day_of_absences_only_on_days_its_staff_work():
    """A team's absence and exit uniforms come from its own keyed stream for the day, read by
    each worker on duty (Worker.step); a day none of its shifts works, or with burnout off,
    builds no stream, so nothing stale or unused is drawn."""
    def behaviour_keys(overrides):
        model = StreetModel(scenario.load(REFORM, ["horizon.days=7", "horizon.warmup_days=0", *overrides]), 3)
        keys, stream = [], model.stream

        def spy(purpose, *key):
            if purpose == "behaviour" and key:
                keys.append(key)
            return stream(purpose, *key)

        model.stream = spy
        model.run()
        return model, keys

    model, keys = behaviour_keys([])
    names = list(model.teams)
    office = [i for i, t in enumerate(model.teams.values()) if all(c.name == "office" for c in t.shifts)]
    every_day = [i for i, t in enumerate(model.teams.values()) if any(c.name == "patrol" for c in t.shifts)]
    assert office and every_day, names
    for i in office:
        worked = [d for d in range(7) if model.teams[names[i]].calendar.hours_on_day(d) > 0]
        assert len(worked) == 5 and sorted(d for d, t in keys if t == i) == worked
    for i in every_day:
        assert sorted(d for d, t in keys if t == i) == list(range(7))
    _, keys = behaviour_keys(["behaviour.burnout.enabled=false"])
    assert keys == []


def test_idle_workers_still_do_their_fixed_duties():
    """Data collection is done every working day, busy or idle (admin share must not depend on load)."""
    settings = scenario.load("scenarios/validation/mmc.yaml", [
        "case_types.job.arrivals.per_hour=0.01", "horizon.days=70", "horizon.warmup_days=0",
        "levers.data_sharing.enabled=false", "levers.data_sharing.roles=[servers]",
        "levers.data_sharing.collection_hours_per_worker_per_week_without=4",
    ])
    rep = run_replication(settings, replication_seeds(1, 1)[0])
    hours = rep.roles.set_index("role").loc["servers", "data_collection"]
    assert hours == pytest.approx(4 * 10 * 3, rel=0.02)  # 4 h a week, 10 weeks, 3 workers


def test_kpi_and_series_names_list_exactly_what_a_run_reports():
    """Sweep files are checked against these lists, so they must not go stale."""
    from sim.columns import daily_series_names, kpi_names

    settings = scenario.load(REFORM, ["horizon.days=20", "horizon.warmup_days=2"])
    rep = run_replication(settings, replication_seeds(1, 1)[0])
    assert [k for k in rep.kpis if k != "replication"] == kpi_names(settings)
    assert [c for c in rep.timeseries.columns if c != "replication"] == daily_series_names(settings)


def test_purchased_services_take_their_share_of_service_cases(reform_run):
    """Reform 2015 buys services from social organisations (001): 15% of service cases go there."""
    _, cases = reform_run
    service = cases[cases["category"] == "service"]
    share = (service["handler_role"] == "purchased_services").mean()
    assert share == pytest.approx(0.15, abs=0.01)
    assert not (cases[cases["category"] != "service"]["handler_role"] == "purchased_services").any()
