"""How much of the demo's injected revenue anomalies the store revenue itself gives away.

Issue 11 asks the causal KPI detector for recall >= 0.8 per kind (level shifts caught within their
first four days, spikes on their day) at a budget of the injected count. This measures, per demo
seed, the detector against a *hindsight* reference that no scheduled job could run, because it
sees the future and the truth:

- expected log revenue = the median of the same weekday four weeks before and after, every
  injected day left out (the truth), and the stores' median movement that day taken out;
- a spike's evidence: the day's residual over the normal days' 99th percentile on its side
  (bulk orders make the upper side far wider than the lower); a level shift's: the mean of its first four days'
  residuals, each clipped at two noise standard deviations (a bulk order is not a shift);
- recall of each kind at a budget of that kind's count alone (the other kind costs no budget).

Where the reference stays under 0.8, the revenue series cannot carry the goal; what it adds over
the detector is what knowing the future (and the truth) buys. Usage::

    python -m benchmarks.bench_kpi_ceiling [--seeds 0-7]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

_REPO = Path(__file__).resolve().parents[1]
_WEEKS = (-4, -3, -2, -1, 1, 2, 3, 4)
_ONSET_DAYS = 4


def hindsight_residuals(revenue: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(log residuals against the hindsight expectation, true kinds), both dates x stores."""
    frame = revenue.merge(truth, on=["store_id", "date"], validate="one_to_one")
    log_revenue = np.log(frame.pivot(index="date", columns="store_id", values="revenue"))
    kinds = frame.pivot(index="date", columns="store_id", values="anomaly_kind").fillna("")
    clean = log_revenue.where(kinds == "")
    expected = pd.concat([clean.shift(7 * k) for k in _WEEKS]).groupby(level=0).median().reindex(log_revenue.index)
    residual = log_revenue - expected
    return residual.sub(residual.where(kinds == "").median(axis=1), axis=0), kinds


def recall_at_own_budget(evidence: np.ndarray, is_event: np.ndarray, candidates: np.ndarray) -> float:
    """Recall at a budget of the event count among ``candidates`` (kpredict's detection metrics;
    steps without evidence rank last)."""
    from kpredict.evaluation.detection import detection_metrics

    if not is_event.any():
        return float("nan")
    score = evidence[candidates]
    score = np.where(np.isfinite(score), score, np.nanmin(score) - 1.0)
    return detection_metrics(is_event[candidates], score)["recall_at_budget"]


def hindsight_recall(residual: pd.DataFrame, kinds: pd.DataFrame, evaluated: pd.DataFrame) -> dict[str, float]:
    """Recall per kind of the hindsight reference on the steps the detector was evaluated on."""
    steps = evaluated.set_index(["unique_id", "ds"]).index
    long = residual.stack().rename("u").to_frame().join(kinds.stack().rename("kind"))  # (date, store)
    long = long.rename_axis(["ds", "unique_id"]).reorder_levels(["unique_id", "ds"]).sort_index()
    normal = long.loc[long["kind"] == "", "u"]
    noise_sd = float(normal.std())
    clipped = long["u"].clip(-2 * noise_sd, 2 * noise_sd)
    onset_mean = clipped.groupby(level=0).transform(lambda s: s.rolling(_ONSET_DAYS).mean().shift(1 - _ONSET_DAYS))
    # each side against its own normal tail: bulk orders make the upper side far wider
    upper, lower = normal.quantile(0.99), -normal.quantile(0.01)
    spike_evidence = np.where(long["u"] > 0, long["u"] / upper, -long["u"] / lower)
    long = long.assign(onset_mean=onset_mean.abs(), spike_evidence=spike_evidence)
    long = long[long.index.isin(steps)]
    kind = long["kind"].to_numpy()
    previous = long.groupby(level=0)["kind"].shift(1).fillna("").to_numpy()
    onset = (kind == "level_shift") & (previous != "level_shift")
    # a window overlapping an injected day is neither a shift's onset nor a normal candidate
    touched = long["kind"].ne("").groupby(level=0).transform(lambda s: s.rolling(_ONSET_DAYS).max().shift(1 - _ONSET_DAYS)).fillna(1).to_numpy() > 0
    shift_candidates = onset | ~touched
    spike_candidates = kind != "level_shift"
    return {
        "level_shift": recall_at_own_budget(long["onset_mean"].to_numpy(), onset, shift_candidates),
        "spike": recall_at_own_budget(long["spike_evidence"].to_numpy(), kind == "spike", spike_candidates),
    }


def one_seed(seed: int, workdir: Path) -> dict[str, float]:
    from kpredict.datasets import generate
    from kpredict.pipelines.risk_anomaly import PIPELINE
    from kpredict.pipelines.risk_anomaly.kpi import fit_and_evaluate

    data = workdir / f"demo_{seed}"
    generate(data, size="default", seed=seed)
    config = PIPELINE.load_config(
        _REPO / "configs" / "risk_anomaly.yaml", data_dir=str(data), features=str(_REPO / "configs" / "features.yaml"),
        feature_store_dir=str(workdir / f"store_{seed}"),
    )
    _, metrics, evaluated = fit_and_evaluate(config, config.open_store())
    residual, kinds = hindsight_residuals(pd.read_parquet(data / "store_revenue.parquet"), pd.read_parquet(data / "truth" / "store_revenue.parquet"))
    reference = hindsight_recall(residual, kinds, evaluated)
    return {
        "seed": seed,
        "detector_shift": metrics["kpi_recall_at_budget_level_shift"],
        "hindsight_shift": reference["level_shift"],
        "detector_spike": metrics["kpi_recall_at_budget_spike"],
        "hindsight_spike": reference["spike"],
        "detector_all": metrics["kpi_recall_at_budget"],
    }


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-7", help="a range (0-7) or a list (0,3,5)")
    args = parser.parse_args(argv)
    if "-" in args.seeds:
        first, last = map(int, args.seeds.split("-"))
        seeds = list(range(first, last + 1))
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        table = pd.DataFrame([one_seed(seed, Path(tmp)) for seed in seeds]).set_index("seed")
    print("Demo store revenue: recall at a budget of the injected count, causal detector vs hindsight reference")
    print(table.round(3).to_string())
    print("mean:", table.mean().round(3).to_dict())
    return table


if __name__ == "__main__":
    main()
