"""How a number, a 95% CI and a missing value read in a table a planner is given, in Chinese
or English.

Every user table (the terminal's comparison, the report's annex, the staffing and calibration
report tables) formats its cells here, so a number is rounded alike everywhere and a value
that cannot be given reads in the table's language (``sim.labels`` word ``not_available``).
"""

from __future__ import annotations

import numbers

from sim.labels import word


def missing(lang: str = "en") -> str:
    """The cell of a value that cannot be given: 'n/a', '—' in Chinese."""
    return word("not_available", lang)


def number(x, lang: str = "en", signed: bool = False) -> str:
    """Three significant figures; thousands grouped from 10,000 on; tiny values in e-notation."""
    if x != x:  # NaN: not computable (one replication, nothing to divide by)
        return missing(lang)
    sign = "+" if signed and x > 0 else ""
    if abs(x) >= 10000:
        return f"{sign}{x:,.0f}"
    if abs(x) >= 100:
        return f"{sign}{x:.0f}"
    if 0 < abs(x) < 0.01:
        return f"{sign}{x:.2g}".replace("e-0", "e-")
    return f"{sign}{x:.3g}"


def value(v, lang: str = "en") -> str:
    """A design's value (a swept parameter's level, a tick): a number as ``number`` rounds it,
    a yes/no in the table's language, a word as it is."""
    if isinstance(v, bool) or getattr(getattr(v, "dtype", None), "kind", "") == "b":
        return word("yes" if v else "no", lang)
    if isinstance(v, numbers.Real):
        return number(float(v), lang)
    return str(v)


def terminal_number(x, lang: str = "en") -> str:
    """A number the terminal prints (four significant figures: a mean near its target shows its
    margin; thousands grouped); missing as in every table."""
    if x != x:
        return missing(lang)
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def ci_cell(low, high, lang: str = "en", signed: bool = False) -> str:
    """'[0.812, 0.934]'; the missing value alone when neither end can be given."""
    if low != low and high != high:
        return missing(lang)
    return f"[{number(low, lang, signed)}, {number(high, lang, signed)}]"


def percent(x, lang: str = "en") -> str:
    """A relative change: '+12%', '-3.4%' (one decimal below 10%)."""
    if x != x:
        return missing(lang)
    return f"{x * 100:+.0f}%" if abs(x) >= 0.1 else f"{x * 100:+.1f}%"


# A terminal column is padded by display width, not by characters as f-strings pad: a Chinese
# character takes two columns (wcwidth), so Chinese rows line up too. On English text the two agree.
def display_width(text: str) -> int:
    from wcwidth import wcswidth  # only terminal summaries pad by hand; tabulate does the tables

    return max(wcswidth(text), len(text))


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` filled with spaces to ``width`` terminal columns (on the left when ``right``)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` terminal columns (English: text[:width])."""
    while display_width(text) > width:
        text = text[:-1]
    return text
