"""Shared bits for tests/test_sweep_*.py and the commands built on sweeps (calibrate, staff); no tests
here: small experiments over the M/M/c scenario, a figure's formats, a report's words."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pandas as pd
import yaml

from sim.sweep import store

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "validation" / "mmc.yaml"
STREETSIM = ROOT / ".venv" / "bin" / "streetsim"
KPIS = ["on_time_resident", "wait_mean_days", "utilisation_servers", "cases_arrived"]
# An ASCII bracket, comma, colon or semicolon beside a Chinese character: Chinese text sets these
# full-width (（），：；); Latin inside it (Erlang C, CJ/T 315, numbers) keeps its own.
ASCII_PUNCTUATION_BY_CJK = re.compile(r"[\u4e00-\u9fff][(),:;]|[(),:;][\u4e00-\u9fff]")


def write_experiment(path: Path, days: int = 30, replications: int = 3, **changes) -> Path:
    spec = {
        "experiment": path.stem,
        "scenario": str(MMC),
        "set": [f"horizon.days={days}", "horizon.warmup_days=2"],
        "parameters": {
            "staffing.servers.count": {"values": [3, 4]},
            "case_types.job.arrivals.per_hour": {"min": 1.5, "max": 2.5, "num": 3},
        },
        "replications": replications,
        "seed": 11,
        "kpis": KPIS,
    }
    spec.update(changes)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def kpi_table(out: Path) -> pd.DataFrame:
    """Stored runs, ordered, without what legitimately differs between executors."""
    t = store.read_results(out)
    return t.drop(columns=["seconds", "worker", "worker_pid"]).sort_values("run_id").reset_index(drop=True)


def raw_run_ids(out: Path) -> list[str]:
    """Every run_id in every part file, duplicates included."""
    return [rid for f in store.part_files(out) for rid in pd.read_parquet(f, columns=["run_id"])["run_id"]]


def figure_text(folder: Path, stem: str) -> str:
    """A figure as authors print it: PNG, SVG and PDF of ``stem`` are in ``folder``; returns the
    PDF's text as pdftotext reads it (text in the PDF, not outlines)."""
    for ext in ("png", "svg", "pdf"):
        assert (folder / f"{stem}.{ext}").stat().st_size > 1000, f"{stem}.{ext}"
    return subprocess.run(["pdftotext", str(folder / f"{stem}.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def report_texts(report: dict, lang: str) -> list[str]:
    """Every sentence a report.json gives in ``lang``: its title, and each section's heading, text
    and table and figure captions."""
    texts = [report["title"][lang]]
    for section in report["sections"]:
        texts += [section["heading"][lang], section["text"][lang]]
        texts += [item["caption"][lang] for item in (*section["tables"], *section["figures"])]
    return texts
