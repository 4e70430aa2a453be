"""sim.safe_yaml: numbers in exponent form, and the two ways a file holds too many values."""

import math
import time

import pytest
import yaml

from sim import limits, safe_yaml


def test_numbers_in_exponent_form_are_numbers_and_whole_ones_integers():
    """Before (e7c9a55) all but 1.5e+5 were text: YAML 1.1 wants a point and a signed exponent, so
    `residents: 1e5` was refused as "not a valid integer, got '1e5'"."""
    got = safe_yaml.parse("[1e5, 1E+5, -2e3, 1.5e5, 1.5e+5, 2e-3, .5e1, 12345678901234567891e0, 0x1e5, 089, 1e5x]")
    assert got == [100_000, 100_000, -2_000, 150_000.0, 150_000.0, 0.002, 5.0, 12345678901234567891, 485, "089", "1e5x"]
    assert [type(v).__name__ for v in got[:8]] == ["int"] * 3 + ["float"] * 4 + ["int"]  # exact: no float's rounding
    assert yaml.safe_load("[1e5, 1.5e5]") == ["1e5", "1.5e5"]  # PyYAML's own loader is left as it was


@pytest.mark.parametrize("text,value", [
    ("1e+0", 1), ("1e-0", 1), ("1E-0", 1), ("-1e-0", -1), ("100e-2", 1), ("-120e-1", -12), ("0e-5", 0),
    ("1_000e3", 1_000_000), ("1_000e-3", 1), ("1_000", 1000),  # YAML 1.1's underscores, in every number
    ("1e-3", 0.001), ("100e-3", 0.1), ("1.0e0", 1.0), ("1.5e-0", 1.5), ("1_000.5e3", 1_000_500.0), ("1_000.5", 1000.5),
    ("_1e3", "_1e3"), ("1e1_0", "1e1_0"),  # an underscore neither starts a number nor groups the exponent
])
def test_an_exponent_form_without_a_point_is_an_int_when_whole_whatever_the_exponents_sign(text, value):
    """Before: 1e+0 read as the int 1 but 1e-0 as the float 1.0 (refused by a count), and 1_000e3 as
    text while 1_000 is 1000. The rule (sim.safe_yaml's docstring): no point and a whole value is
    an int; a point, or a fraction (1e-3), a float; underscores group digits before the exponent."""
    got = safe_yaml.parse(f"k: {text}")["k"]
    assert got == value and type(got) is type(value)


def test_an_exponent_past_any_float_is_inf_at_once():
    t0 = time.perf_counter()
    got = safe_yaml.parse("[1e400, 5e308, 0e999999999, 1e-999999999]")  # no 10**999999999 built
    assert got == [math.inf, math.inf, 0, 0.0] and type(got[2]) is int  # 0 is whole: an int, as 0e5 is
    assert time.perf_counter() - t0 < 1


@pytest.fixture
def limit_100(monkeypatch):
    monkeypatch.setattr(limits, "MAX_YAML_VALUES", 100)


def _ones(n: int) -> str:
    return "[" + ", ".join(["1"] * n) + "]"


@pytest.mark.parametrize("text", [f"x: {_ones(150)}\n", f"base: &b {{a: 1}}\nuse: *b\nx: {_ones(150)}\n"],
                         ids=["no alias", "a harmless alias"])  # fmt: skip
def test_a_file_holding_too_many_values_itself_is_too_large_not_an_alias_bomb(text, limit_100):
    """Before (e7c9a55): `x: more than 100 values once aliases are expanded (an alias bomb?)`."""
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(text)
    assert (e.value.key, e.value.message) == ("", "has more than 100 values, the limit for one file")


def test_at_the_real_limit_a_file_of_plain_values_is_refused_as_too_large_in_seconds():
    t0 = time.perf_counter()
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(f"x: {_ones(limits.MAX_YAML_VALUES + 1)}\n")  # 600 kB: ~3 s on a loaded 2-core machine
    assert str(e.value) == f"has more than {limits.MAX_YAML_VALUES:,} values, the limit for one file"
    assert time.perf_counter() - t0 < 30


def test_an_alias_bomb_is_still_named_one_where_its_aliases_are_used(limit_100):
    text = f"a: &a {_ones(10)}\nb: &b [*a, *a, *a, *a, *a]\nbomb: [*b, *b, *b]\n"  # 14 values written, 237 expanded
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(text)
    assert (e.value.key, e.value.message) == ("bomb", "more than 100 values once aliases are expanded (an alias bomb?)")


@pytest.mark.parametrize("value", ["1e5", "2015e1", "1.5e3", "-3E+2", "1e-0", "100e-2", "1e-3", "1_000e3", "1_000.5e3",
                                   "text", 100000, 150000.0, 0.001, True,
                                   [1, "1e5"], {"a": "2e3", "b": 2e3}])
def test_what_is_dumped_reads_back_as_it_was(value):
    """Since 1e5 reads as a number, the text '1e5' must be written quoted: yaml.safe_dump wrote it
    bare, so a district's `set:`, a sweep point or a resolved scenario holding it read back 100000."""
    for text in (safe_yaml.dump({"k": value}), "k: " + safe_yaml.inline(value)):
        back = safe_yaml.parse(text)["k"]
        assert back == value and type(back) is type(value), text


@pytest.mark.parametrize("text, key, line", [
    ("a: &x [*x]\n", "a.0", 1),
    ("a: {b: &x [1, [2, {c: *x}]]}\n", "a.b.1.1.c", 1),
    ("name: n\nstreet: &s\n  residents: 100\n  <<: *s\n", "street.<<", 2),
    ("a: &x {b: [1, {c: *x}]}\n", "a.b.1.c", 1),
    ("? &k [*k]\n: 1\n", "<complex key>.0", 1),
], ids=["list", "deep list", "mapping merging itself", "mapping", "complex key"])  # fmt: skip
def test_a_value_holding_itself_is_refused_with_its_key_path(text, key, line, within_10_s):
    """Before: the walk over the expanded values followed the alias round and round, its key path
    growing at every step, and never ended (nor did `--set description='&x [*x]'`)."""
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(text)
    assert e.value.key == key
    assert e.value.message == (f"an alias here refers to the value that contains it (its anchor is on line {line}); "
                               "a value that holds itself never ends")  # fmt: skip


def test_an_alias_used_twice_side_by_side_is_not_taken_for_one_holding_itself(within_10_s):
    assert safe_yaml.parse("a: &x {b: 1}\nc: [*x, {d: *x}]\ne: {<<: *x, f: 2}\n") == {
        "a": {"b": 1}, "c": [{"b": 1}, {"d": {"b": 1}}], "e": {"b": 1, "f": 2}}  # fmt: skip


def test_a_chain_of_30000_aliases_is_walked_in_linear_time():
    """Each list holds the one before: the walk over the expanded values went 30,000 deep, and its
    key path, a tuple copied at every value, made it quadratic (8.1 s; 0.8 s as (parent, key) pairs)."""
    text = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 30_000))
    t0 = time.process_time()  # CPU seconds: other work on the machine does not count
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(text)
    seconds = time.process_time() - t0
    assert (e.value.key, e.value.message) == ("a29993", "more than 200,000 values once aliases are expanded (an alias bomb?)")
    assert seconds < 4, f"{seconds:.1f} s"


@pytest.mark.parametrize("text, key, read_as", [
    ("staffing: {servers: {count: 010}}", "staffing.servers.count", "in octal (a leading 0) as 8"),
    ("deadline_hours: 1:30", "deadline_hours", "in base 60 as 90"),
    ("shifts: [{start_hour: 8:30}]", "shifts.0.start_hour", "in base 60 as 510"),
    ("x: 0b11", "x", "in binary as 3"),
    ("x: -010", "x", "in octal (a leading 0) as -8"),
    ("x: 1:30:00", "x", "in base 60 as 5400"),
])  # fmt: skip
def test_a_number_yaml_1_1_reads_otherwise_than_written_is_refused_at_its_key(text, key, read_as):
    """YAML 1.1 read count 010 as 8 servers and deadline_hours 1:30 as 90 hours, silently (and
    start_hour 8:30 was refused as 'less than or equal to 24, got 510', which did not say why)."""
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse(text)
    assert e.value.key == key and f"is read by YAML {read_as} (line 1); write the number in plain decimals" in e.value.message


def test_a_misread_number_is_quoted_short_in_its_message():
    with pytest.raises(safe_yaml.YamlError) as e:
        safe_yaml.parse("x: 1" + ":30" * 2000)
    assert len(e.value.message) < 250, len(e.value.message)


@pytest.mark.parametrize("text, value", [("0", 0), ("10", 10), ("0.5", 0.5), ("1_000", 1000), ("0x1F", 31), ("'010'", "010"),
                                         ("08", "08"), ("1e5", 100000), ("'8:30'", "8:30"),
                                         ("07", 7), ("00", 0), ("-07", -7)])  # octal, but what the digits say  # fmt: skip
def test_numbers_written_plainly_and_quoted_text_are_read_as_before(text, value):
    assert safe_yaml.parse(f"x: {text}") == {"x": value}
    assert safe_yaml.parse(safe_yaml.dump({"x": value})) == {"x": value}  # text such as '010' is written quoted
