"""``streetsim report``: a PDF annex for a reform proposal, in Chinese or English, built offline.

    from sim.report import build
    pdf = build("results/mine", lang="zh")      # results/mine/report_zh.pdf

The annex is assembled from what a results folder holds (``run``, ``compare``, district and
sweep folders): what was compared and how, the headline table, the figures, staffing and cost
per role, the assumptions and sources written in the scenario files (``# assumption:`` and
source comments such as ``# 001: ...``), and the software version and command. It is typeset by
the Typst compiler embedded in the ``typst`` wheel, with system fonts (``fonts-noto-cjk`` for
Chinese); nothing is downloaded.

Extra sections from other commands
----------------------------------
Any command may add sections by writing ``report.json`` into the results folder::

    {"title": {"zh": "标定", "en": "Calibration"},
     "sections": [
       {"heading": {"zh": "...", "en": "..."},
        "text": {"zh": "...", "en": "..."},
        "tables": [{"caption": {"zh": "...", "en": "..."}, "csv": "calibration.csv"},
                   {"caption": {"zh": "...", "en": "..."}, "csv": {"zh": "fit_zh.csv", "en": "fit_en.csv"}}],
        "figures": [{"caption": {"zh": "...", "en": "..."}, "file": "figures/fit.png"}]}]}

Paths are relative to the results folder; ``text``, ``tables`` and ``figures`` are optional;
a text may hold several paragraphs separated by blank lines. A table's ``csv`` or a figure's
``file`` may be ``{"zh": path, "en": path}`` when its words differ by language. A malformed ``report.json``
stops the report with one line naming the file and the key.
"""

from sim.labels import LANGS


def per_language(pattern: str) -> dict[str, str]:
    """A report.json path that differs by language, ``{"zh": ..., "en": ...}``, from a pattern
    with ``{lang}`` in it."""
    return {lang: pattern.format(lang=lang) for lang in LANGS}


def __getattr__(name):
    """``build`` loads on first use: `streetsim` registers the report command through this
    package, and the annex imports pandas and matplotlib (tests/test_startup.py)."""
    if name == "build":
        from sim.report.annex import build

        return build
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["build", "per_language"]
