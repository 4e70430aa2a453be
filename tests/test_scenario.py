"""Scenario files (sim.scenario): extends, --set, ratio rules, the schema, the shipped files."""

import json

from sim import limits, scenario
from sim.cli import main


def test_extends_deep_merges_and_set_reaches_any_key(tmp_path):
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {scenario.Path('scenarios/reform_2015.yaml').resolve()}\nname: child\n"
                     "staffing:\n  community_workers: {lines: 11, count: 15}\n")
    s = scenario.load(child, ["staffing.grid_supervisors.count=12", "levers.grid_management.level=district"])
    assert s.name == "child"
    assert s.staffing["community_workers"].lines == 11
    assert s.staffing["community_workers"].calendar == "office"  # kept from the parent
    assert s.staffing["grid_supervisors"].count == 12
    assert s.levers.grid_management.level == "district"


def test_ratio_rules_count_staff_as_the_reform_wrote_them():
    s = scenario.load("scenarios/reform_2015.yaml")
    assert scenario.staff_count(s.staffing["party_workers"], s.street) == 8  # 1200 / 150
    s2 = scenario.load("scenarios/reform_2015.yaml", ["staffing.party_workers.per=200"])
    assert scenario.staff_count(s2.staffing["party_workers"], s2.street) == 6
    assert scenario.staff_count(s.staffing["committee_workers"], s.street) == 7 * 19
    assert scenario.staff_count(s.staffing["police"], s.street) == 19


def test_set_count_replaces_a_ratio_rule():
    s = scenario.load("scenarios/reform_2015.yaml", ["staffing.party_workers.count=3"])
    assert s.staffing["party_workers"].per is None
    assert scenario.staff_count(s.staffing["party_workers"], s.street) == 3


def test_resolved_scenario_reloads_to_the_same_scenario(tmp_path):
    s = scenario.load("scenarios/reform_2015.yaml")
    path = tmp_path / "resolved.yaml"
    path.write_text(scenario.dump(s))
    assert scenario.load(path) == s


def test_schema_command_prints_json_schema_with_every_section(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    for key in ("street", "staffing", "case_types", "levers", "behaviour", "horizon", "calendars"):
        assert key in schema["properties"]
    assert schema["$defs"]["Role"]["additionalProperties"] is False


def test_a_deadline_below_zero_is_refused_by_the_schema_that_streetsim_schema_prints(tmp_path, capsys):
    """deadline_hours' lower bound was checked by hand after validation: `streetsim schema` showed
    no minimum, so an editor let a negative deadline through. It is a Field bound now."""
    assert main(["schema"]) == 0
    deadline = json.loads(capsys.readouterr().out)["$defs"]["CaseType"]["properties"]["deadline_hours"]
    assert deadline["minimum"] == 0 and deadline["maximum"] == limits.MAX_DURATION_HOURS
    bad = tmp_path / "late.yaml"
    bad.write_text(f"extends: {scenario.Path('scenarios/validation/mmc.yaml').resolve()}\n"
                   "case_types:\n  job: {deadline_hours: -0.5}\n")
    assert main(["validate", str(bad)]) == 2
    assert capsys.readouterr().err == (
        f"error: {bad}: case_types.job.deadline_hours: Input should be greater than or equal to 0, got -0.5\n")
    assert scenario.load("scenarios/validation/mmc.yaml", ["case_types.job.deadline_hours=0"])  # the bound itself


def test_shipped_scenarios_validate(capsys):
    files = [str(p) for p in scenario.Path("scenarios").rglob("*.yaml")]
    assert main(["validate", *files]) == 0, capsys.readouterr().err


def test_a_set_below_a_misspelt_role_names_the_roles_there_are(capsys):
    """`staffing.grid_supervisor.count=12` (no s) is a typo, not a new role missing its kind."""
    status = main(["run", "scenarios/reform_2015.yaml", "--set", "staffing.grid_supervisor.count=12", "--out", "/nonexistent/x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1, err
    assert err[0].startswith("error: --set: staffing.grid_supervisor.count: ") and "no staffing entry 'grid_supervisor'" in err[0]
    assert "grid_supervisors" in err[0]  # the name meant is among those listed
    added = scenario.load("scenarios/reform_2015.yaml", ["staffing.new_desk={kind: acceptance_clerk, count: 2}"])
    assert added.staffing["new_desk"].count == 2  # a whole new entry is still possible


def test_random_stream_key_parts_stay_below_2_32():
    """StreetModel.stream packs a day and an index (team, case type, grid) into uint32 words, and
    numpy refuses a part >= 2**32 (OverflowError, a traceback). No input reaches it: the schema
    and limits bound each part far below; seeds and replication numbers are split into 32-bit
    words first, so any size works. A guard: raising a limit past 2**32 fails here."""
    import numpy as np

    from sim import limits
    from sim.street import StreetModel

    # days < horizon.days; teams <= staff in all (each role has one at least); grids; case
    # types < the values a file may hold
    assert max(limits.MAX_HORIZON_DAYS, limits.MAX_STAFF_TOTAL, limits.MAX_AREAS, limits.MAX_YAML_VALUES) < 2**32
    mmc = "scenarios/validation/mmc.yaml"
    for key in ("horizon.days", "street.grids"):
        try:
            scenario.load(mmc, [f"{key}={2**32}"])
        except scenario.ScenarioError as e:
            assert e.key == key and "less than or equal to" in e.message, e
        else:
            raise AssertionError(f"{key}={2**32} accepted")
    model = StreetModel(scenario.load(mmc), np.random.SeedSequence(2**100, spawn_key=(limits.MAX_REPLICATIONS,)))
    assert 0 <= model.stream("grid", limits.MAX_HORIZON_DAYS - 1, limits.MAX_AREAS - 1).random() < 1


def test_printable_escapes_control_characters_and_leaves_other_text_alone():
    """Only what `_CONTROL` names is escaped: a backslash, Chinese, a zero-width joiner stay as typed."""
    from sim.scenario import printable

    assert printable("C:\\d 街道\u200d é") == "C:\\d 街道\u200d é"
    assert printable("a\x1b[31mb\u202ec\u2028d\x9be\tf") == "a\\x1b[31mb\\u202ec\\u2028d\\x9be\\tf"
