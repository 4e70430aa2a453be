"""benchmarks/by_library.py puts each sample inside a simulated day to its innermost frame's owner."""

import importlib.util
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "by_library", Path(__file__).resolve().parents[1] / "benchmarks" / "by_library.py")
by_library = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(by_library)

DAY = "main (street_year.py:167);StreetModel.step (sim/street.py:154)"


def test_samples_go_to_the_innermost_frames_owner_and_only_inside_a_day():
    lines = [
        f"{DAY};Worker.step (sim/agents/workers.py:233) 5\n",
        f"{DAY};Worker.step (sim/agents/workers.py:233);Environment.step (simpy/core.py:190) 3\n",
        f"{DAY};draw (sim/cases.py:10);Generator.random (numpy/random/_generator.py:1) 2\n",
        f"{DAY};shuffle_do (/x/site-packages/mesa/agentset.py:771) 1\n",
        f"{DAY};<listcomp> (<frozen importlib._bootstrap>:1) 1\n",
        "main (street_year.py:167);scaled_overrides (street_year.py:40) 7\n",  # outside a day
    ]
    counts, total = by_library.shares(lines)
    assert total == 12
    assert counts == {"the model's own code (sim/)": 5, "SimPy": 3, "numpy": 2, "Mesa": 1, "the rest": 1}
