"""Typeset the annex: blocks (JSON) + the page layout in ``annex.typ`` -> PDF, with the Typst
compiler embedded in the ``typst`` wheel. System fonts are used (Noto CJK for Chinese); no
package or font is downloaded, and the creation date is fixed so the same blocks give the same
PDF."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from sim import results_folder
from sim.scenario import ScenarioError

LAYOUT = Path(__file__).with_name("annex.typ")
TIMESTAMP = datetime.datetime(2015, 1, 1, tzinfo=datetime.UTC)  # reproducible output


def compile_pdf(doc: dict, out: Path) -> Path:
    import typst  # here: only the report needs the compiler

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # root "/" lets the layout open the figures by their absolute paths
    pdf = typst.compile(str(LAYOUT), root="/", sys_inputs={"doc": json.dumps(doc, ensure_ascii=False)},
                        timestamp=TIMESTAMP)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(pdf)
    tmp.replace(out)  # never a half-written PDF
    return out


REPORT_MARK = b"/Keywords(streetsim report)"  # set by annex.typ: a PDF this command wrote
MAX_REPORT_BYTES = 200_000_000


def check_out_file(out: Path, default_name: bool) -> None:
    """The report may replace only a report (an earlier one under its default name, or a PDF
    marked as one): never a file it did not write, a link, a device or a folder."""
    results_folder.check_regular_file(out, "--out")
    if out.exists() and not default_name:
        # the mark sits in the document information near the end; a report is a few MB at most
        if out.stat().st_size > MAX_REPORT_BYTES or REPORT_MARK not in out.read_bytes():
            raise ScenarioError("--out", "", f"{out} exists and is not a streetsim report; give a new file name "
                                "(nothing was changed)")  # fmt: skip
