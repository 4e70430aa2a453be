"""Typeset the annex: blocks (JSON) + the page layout in ``annex.typ`` -> PDF, with the Typst
compiler embedded in the ``typst`` wheel. System fonts are used (Noto CJK for Chinese); no
package or font is downloaded, and the creation date is fixed so the same blocks give the same
PDF."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

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
