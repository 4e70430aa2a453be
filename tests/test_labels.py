"""The label table names every role and case type of the shipped street scenarios in both
languages, and its Chinese is set with Chinese punctuation."""

import re
from pathlib import Path

import pytest

from sim import labels, scenario
from sim.labels import CASE_TYPES, ROLES

ROOT = Path(__file__).resolve().parents[1]
# The planners' scenarios (validation/ holds queueing checks with generic names: servers, job).
SHIPPED = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if "streets" not in scenario.load_raw(p))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_role_and_case_type_has_a_chinese_and_an_english_label(path):
    s = scenario.load(path)
    assert set(s.staffing) <= set(ROLES), set(s.staffing) - set(ROLES)
    assert set(s.case_types) <= set(CASE_TYPES), set(s.case_types) - set(CASE_TYPES)
    for zh, en in [ROLES[r] for r in s.staffing] + [CASE_TYPES[t] for t in s.case_types]:
        assert zh and en and not zh.isascii()


def test_one_replication_is_singular_in_every_sentence_that_counts_them():
    """The report said '1 replications per scenario' (and the figure '... over 1 replications')."""
    from sim.labels import replications_text, word

    assert word("fact_replications", "en", reps=replications_text(1), seed=3) == "1 replication per scenario, seed 3"
    assert word("means_caption", "en", reps=replications_text(10)) == "KPI means and 95% CIs (10 replications)"
    assert word("kpi_bars_title", "zh", reps=replications_text(1, "zh")) == "各情景指标（均值与95%置信区间，1次重复）"


def test_a_calibrated_parameter_is_named_like_the_kpis_of_its_case_type_or_role():
    """The calibration annex named parameters by their key paths only, in Chinese too."""
    from sim.labels import label, parameter_label

    key = "case_types.street_environment.handle.mean_hours"
    assert parameter_label(key, "zh") == f"{label('street_environment', 'zh')}平均处置时长（小时）"
    assert parameter_label(key, "en") == f"mean handling time, {label('street_environment')} (hours)"
    tasks = "levers.devolved_tasks.tasks_per_week.committee_workers"
    assert parameter_label(tasks, "zh").startswith(label("committee_workers", "zh"))
    assert parameter_label("levers.x.y") is None and parameter_label("case_types.street_environment") is None


def _chinese_of_every_table():
    """(table, key, Chinese) of every table of sim.labels, found rather than listed, so a table
    added later is checked too."""
    zh = labels.LANGS.index("zh")
    for name, table in vars(labels).items():
        if name.isupper() and isinstance(table, dict):
            yield from ((name, key, names[zh]) for key, names in table.items() if isinstance(names, tuple))


def test_chinese_labels_have_full_width_brackets_commas_and_colons():
    """'队列数(1=合并)' and 20 more Chinese labels had ASCII parentheses (a few an ASCII comma or
    colon too), where the other Chinese labels have （）， and ：."""
    found = list(_chinese_of_every_table())
    assert {"ROLES", "KPIS", "ROLE_KPI_PREFIXES", "PARAMETERS", "LEVERS", "UNITS", "WORDS"} <= {t for t, _, _ in found}
    ascii_punctuation = [(t, k, zh) for t, k, zh in found if re.search(r"[(),:;]", re.sub(r"{\w*}", "", zh))]
    assert not ascii_punctuation, ascii_punctuation


def test_a_list_reads_with_the_enumeration_comma_in_chinese():
    """A Chinese annex listed swept values as '是, 否'; Chinese sets listed words apart with 、."""
    from sim.labels import join_list

    assert join_list(["1.5", "2.24"], "zh") == "1.5、2.24" and join_list([1.5, 2.24], "en") == "1.5, 2.24"
    assert join_list(["10,000", "12,000"], "zh") == "10,000、12,000"  # a number's comma is not a Chinese comma
    # items with commas of their own are set apart by semicolons
    assert join_list(["utilisation, party-mass workers", "cases"], "en") == "utilisation, party-mass workers; cases"
    assert join_list(["观测1，模型2", "观测3"], "zh") == "观测1，模型2；观测3"
    assert join_list(["网格、平台", "居委"], "zh") == "网格、平台；居委"  # an item's own 、 is not the list's
    assert join_list([], "zh") == "" and join_list(["一"], "zh") == "一"
