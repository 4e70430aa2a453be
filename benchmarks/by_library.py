"""Whose code a street-year's time is spent in: the model's own (`sim/`), SimPy, numpy, Mesa.

Reads a sampling profile in the collapsed-stack form ("frame;frame;... count", one stack a
line) that py-spy writes with `-f raw`. Sampling adds no cost per call, unlike cProfile (which
slows this model ~9x and so overstates the share of the code that makes many small calls).

    pip install py-spy
    py-spy record -r 500 -f raw -o prof.txt -- .venv/bin/python benchmarks/street_year.py --child --sizes 78000
    .venv/bin/python benchmarks/by_library.py prof.txt

Only samples inside `StreetModel.step` (a simulated day) count; each is put to the file of its
innermost frame, so a C function such as `heappop` or `bisect` counts with its Python caller.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

INSIDE = "StreetModel.step (sim/street.py"
FRAME_FILE = re.compile(r"\(([^():]+)(?::\d+)?\)$")
# Where a frame's file puts it; the first that matches wins, anything else is "the rest".
OWNERS = (("the model's own code (sim/)", "sim/"), ("SimPy", "simpy/"), ("numpy", "numpy/"),
          ("Mesa", "mesa/"))


def owner(frame: str) -> str:
    match = FRAME_FILE.search(frame)
    path = match.group(1) if match else ""
    for name, part in OWNERS:
        if path.startswith(part) or f"/{part}" in path:
            return name
    return "the rest"


def shares(lines) -> tuple[Counter, int]:
    counts: Counter = Counter()
    for line in lines:
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if INSIDE in stack and count.isdigit():
            counts[owner(stack.split(";")[-1])] += int(count)
    return counts, sum(counts.values())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("profile", type=Path, help="py-spy's `-f raw` output")
    args = p.parse_args()
    with args.profile.open(encoding="utf-8") as f:
        counts, total = shares(f)
    if not total:
        raise SystemExit(f"{args.profile}: no samples inside StreetModel.step")
    print(f"{total} samples inside StreetModel.step")
    for name, n in counts.most_common():
        print(f"  {name:<28} {100 * n / total:5.1f}%")


if __name__ == "__main__":
    main()
