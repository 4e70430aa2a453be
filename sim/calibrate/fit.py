"""``streetsim calibrate``: history matching, then the posterior, then the calibrated model's
prediction of every observed quantity, checked against what was observed."""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim import provenance, results_folder
from sim.calibrate import history as history_mod
from sim.calibrate import posterior as posterior_mod
from sim.calibrate.observed import Calibration
from sim.calibrate.simulate import Execution, run_batch
from sim.calibrate.space import Space
from sim.scenario import ScenarioError

MANIFEST = results_folder.CALIBRATION_MANIFEST


@dataclass
class Result:
    cal: Calibration
    space: Space
    history: history_mod.History
    posterior: posterior_mod.Posterior
    parameters: pd.DataFrame  # posterior summary per parameter
    table: pd.DataFrame  # observed vs predicted, per observed row
    predict_runs: pd.DataFrame
    runs_total: int
    ran: int
    seconds: float


def claim_folder(cal: Calibration, out: Path) -> None:
    """``out`` is new, empty, or holds this same calibration's runs (then they are reused). SLURM
    array shards start together: the first to write the manifest wins, the others check it."""
    out = Path(out)
    if not (out / MANIFEST).exists():
        strangers = out.exists() and any(not _manifest_or_its_temporary(p) for p in out.iterdir())
        if strangers and not (out / MANIFEST).exists():  # looked again: another shard may have just claimed it
            raise ScenarioError(out, "--out", "is a folder with other files in it; choose a new or empty --out")
        out.mkdir(parents=True, exist_ok=True)
        manifest = {"kind": "calibration", "digest": cal.digest(), "calibration": cal.spec.calibration,
                    "observed_file": str(cal.file), "scenario_file": str(cal.scenario_file),
                    **provenance.record(), "python": provenance.python_version(),
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
        _write_first(out / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    try:  # not waited on: a named pipe in its place blocked the read forever
        old = results_folder.read_json(out / MANIFEST)
    except (OSError, ValueError) as e:
        raise ScenarioError(out, "--out", f"its {MANIFEST} cannot be read ({e}); choose another --out") from None
    if not isinstance(old, dict) or old.get("digest") != cal.digest():
        raise ScenarioError(out, "--out", "holds a calibration of other files or settings; choose another --out")
    # run ids name the scenario, seed and replication, not the model code that ran them
    provenance.check_same_code(old.get("code"), out, "calibration")


def _manifest_or_its_temporary(p: Path) -> bool:
    return p.name == MANIFEST or (p.name.startswith(f".{MANIFEST}.") and p.name.endswith(".tmp"))


def _write_first(path: Path, text: str) -> None:
    """Write ``path`` unless another process has written it first (then keep theirs)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)  # fails if it exists: never replaces another shard's manifest
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def calibrate(cal: Calibration, out: Path, how: Execution) -> Result:
    t0 = time.perf_counter()
    out = Path(out).resolve()
    claim_folder(cal, out)
    space = Space(cal.spec.parameters)
    matcher = history_mod.Matcher(cal, space, out, how)
    hist = matcher.run()
    m = cal.spec.method
    post = posterior_mod.estimate(hist, space, matcher.obs, matcher.obs_var, m.seed)
    original = _scenario_values(cal, space)
    params = posterior_mod.summary(post, hist, space, original)
    pred_values, drawn = _prediction_points(post, params, space, m.posterior_draws, m.seed)
    batch = run_batch(cal, space, pred_values, out / "predict", f"{cal.spec.calibration}-predict",
                      m.replications, m.seed, how, batch=0)  # fmt: skip
    # each point's runs as many times as it was drawn: the prediction is over posterior draws
    table = compare(cal, matcher, hist, batch.runs.loc[batch.runs.index.repeat(drawn[batch.runs["point"]])])
    ran = sum(w.ran for w in hist.waves) + batch.ran
    total = len(hist.runs) + len(batch.runs)
    return Result(cal, space, hist, post, params, table, batch.runs, total, ran, time.perf_counter() - t0)


def _scenario_values(cal: Calibration, space: Space) -> dict:
    from sim import scenario as scenario_mod

    resolved = scenario_mod.build(cal.base, cal.scenario_file).model_dump(mode="json")
    out = {}
    for p in space.names:
        node = resolved
        for part in p.split("."):
            node = node[part]
        out[p] = node
    return out


def _prediction_points(post, params: pd.DataFrame, space: Space, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The points of the check and how often each was drawn: point 0 is the calibrated scenario
    (posterior medians), once; then ``draws`` posterior draws. The posterior sample is resampled
    with the importance weights, so its rows, picked alike, are posterior draws. A value drawn
    twice (or the medians drawn) runs once and counts twice: its replications already sample the
    run-to-run noise there, and each point has its own streams (``simulate``): the noise of two
    distinct points is independent (a value drawn k times counts its runs k times)."""
    rng = np.random.default_rng(seed + 2)
    rows = rng.choice(len(post.values), size=draws, replace=draws > len(post.values))
    distinct, counts = np.unique(post.values[rows], axis=0, return_counts=True)
    median = params["calibrated_value"].to_numpy(dtype=float)
    same = (distinct == median).all(axis=1)  # an integer parameter's median is often a draw too
    return np.vstack([median, distinct[~same]]), np.concatenate([[1 + counts[same].sum()], counts[~same]])


def compare(cal: Calibration, matcher, hist, runs: pd.DataFrame) -> pd.DataFrame:
    """Each observed row against the calibrated model: prediction, 95% interval, verdict."""
    cutoff = cal.spec.method.cutoff
    point_means = hist.runs.groupby(["wave", "point"]).mean(numeric_only=True)
    rows = []
    for j, obs in enumerate(cal.spec.observed):
        q = obs.quantity
        x = runs[q].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        fitted = runs.loc[runs["point"] == 0, q].astype(float)
        mean = float(np.mean(x)) if len(x) else np.nan
        run_var = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
        disc = cal.discrepancy_sd(obs)
        scale = float(np.sqrt(obs.sd**2 + disc**2 + run_var))
        z = (mean - obs.value) / scale if scale > 0 else np.inf
        sims = point_means[q].dropna()
        closest = float(sims.iloc[np.argmin(np.abs(sims.to_numpy() - obs.value))]) if len(sims) else np.nan
        irreconcilable = j in hist.irreconcilable
        reproduced = (not irreconcilable) and abs(z) <= cutoff
        rows.append({
            "quantity": q, "observed": obs.value, "observed_sd": obs.sd, "discrepancy_sd": disc,
            "predicted_mean": mean,
            "predicted_q025": float(np.quantile(x, 0.025)) if len(x) else np.nan,
            "predicted_q975": float(np.quantile(x, 0.975)) if len(x) else np.nan,
            "calibrated_point_mean": float(fitted.mean()),
            "z": z, "reproduced": reproduced, "irreconcilable": irreconcilable,
            "smallest_implausibility_in_ranges": float(hist.min_imp[j]),
            "closest_simulated_point_mean": closest,
            "simulated_min": float(sims.min()) if len(sims) else np.nan,
            "simulated_max": float(sims.max()) if len(sims) else np.nan,
            "verdict": verdict(obs, mean, z, reproduced, irreconcilable, float(hist.min_imp[j]), closest, cutoff),
            "source": obs.source,
        })  # fmt: skip
    return pd.DataFrame(rows)


def verdict(obs, mean, z, reproduced, irreconcilable, min_imp, closest, cutoff) -> str:
    if irreconcilable:
        return (f"cannot be reproduced: nowhere in the parameter ranges does the model come within {cutoff:g} sd "
                f"(best {min_imp:.1f} sd); observed {obs.value:.4g} ± {obs.sd:.2g}, the closest simulated point "
                f"gave {closest:.4g} (gap {closest - obs.value:+.4g})")  # fmt: skip
    if not reproduced:
        return (f"not reproduced by the calibrated model: predicted {mean:.4g} against observed {obs.value:.4g} "
                f"(off by {mean - obs.value:+.4g}, {abs(z):.1f} sd)")  # fmt: skip
    return f"reproduced: predicted {mean:.4g} against observed {obs.value:.4g} ({abs(z):.1f} sd)"
