"""Replications, seeds and common random numbers; writing a run's outputs."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

import sim
from sim import metrics
from sim import scenario as scenario_mod
from sim.street import StreetModel


@dataclass
class Replication:
    index: int
    kpis: dict
    cases: pd.DataFrame
    timeseries: pd.DataFrame


def replication_seeds(seed: int, replications: int) -> list[np.random.SeedSequence]:
    """One independent SeedSequence per replication. The same (seed, index) gives the same
    streams in every scenario, which is what common random numbers need."""
    return np.random.SeedSequence(seed).spawn(replications)


def run_replication(settings, seed_seq, index: int = 0, keep_cases: bool = True) -> Replication:
    """Build the street, run it over the horizon, and measure it."""
    model = StreetModel(settings, seed_seq)
    model.run()
    cases = metrics.case_table(model)
    kpis = {"replication": index, **metrics.kpis(model, cases)}
    ts = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    ts.insert(0, "replication", index)
    cases.insert(0, "replication", index)
    return Replication(index, kpis, cases if keep_cases else cases.iloc[0:0], ts)


def run_replications(settings, replications: int, seed: int, progress: bool = True, label: str = ""):
    seeds = replication_seeds(seed, replications)
    bar = tqdm(total=replications, desc=label or settings.name, unit="rep", disable=not progress, file=sys.stderr)
    results = []
    for i, ss in enumerate(seeds):
        results.append(run_replication(settings, ss, i))
        bar.update(1)
    bar.close()
    return results


def write_run(out: Path, settings, results: list[Replication], manifest: dict) -> None:
    """Write every output into a temporary folder, then move it into place in one rename."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        summary = pd.DataFrame([r.kpis for r in results])
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.10g")
        pd.concat([r.cases for r in results], ignore_index=True).to_parquet(tmp / "cases.parquet", index=False)
        pd.concat([r.timeseries for r in results], ignore_index=True).to_parquet(tmp / "timeseries.parquet", index=False)
        (tmp / "scenario.resolved.yaml").write_text(scenario_mod.dump(settings), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def manifest(command: list[str], seed: int, replications: int, scenarios: list[str]) -> dict:
    return {
        "streetsim_version": sim.__version__,
        "command": command,
        "seed": seed,
        "replications": replications,
        "scenarios": scenarios,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
    }
