"""Working-time calendars and scenario files (extends, --set, ratio rules, schema)."""

import json

import pytest

from sim import scenario
from sim.calendar import Calendar
from sim.cli import main

OFFICE = Calendar("office", [([0, 1, 2, 3, 4], 8.5, 17.0)], start_weekday=0)  # day 0 = Monday


def test_working_hours_skip_nights_and_weekends():
    friday_4pm = 4 * 24 + 16.0
    # 1 h left on Friday, 8.5 h on Monday, 0.5 h on Tuesday -> Tuesday 9:00.
    assert OFFICE.add_working_hours(friday_4pm, 10.0) == pytest.approx(8 * 24 + 9.0)
    assert OFFICE.working_hours_between(0, 7 * 24) == pytest.approx(42.5)
    assert OFFICE.next_on_duty(5 * 24 + 10) == pytest.approx(7 * 24 + 8.5)  # Saturday -> Monday
    assert OFFICE.on_duty(8.5) and not OFFICE.on_duty(17.0)


def test_work_ending_at_close_of_day_ends_then_not_next_morning():
    assert OFFICE.add_working_hours(8.5, 8.5) == pytest.approx(17.0)
    assert OFFICE.add_working_hours(4 * 24 + 8.5, 8.5) == pytest.approx(4 * 24 + 17.0)  # Friday, not Monday


def test_a_shift_over_sunday_midnight_ends_on_monday_morning():
    night = Calendar("night", [([6], 16.0, 24.0), ([0], 0.0, 8.0)], start_weekday=0)
    assert night.shift_end(6 * 24 + 20.0) == pytest.approx(7 * 24 + 8.0)


def test_calendar_respects_the_weekday_the_run_starts_on():
    wednesday_start = Calendar("office", [([0, 1, 2, 3, 4], 8.5, 17.0)], start_weekday=2)
    assert wednesday_start.hours_on_day(3) == 0.0  # day 3 is a Saturday
    assert wednesday_start.hours_on_day(5) == 8.5  # Monday


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


def test_shipped_scenarios_validate(capsys):
    files = [str(p) for p in scenario.Path("scenarios").rglob("*.yaml")]
    assert main(["validate", *files]) == 0, capsys.readouterr().err
