"""Churn scoring throughput vs raw LightGBM, explanation speed, and 1M customers end to end.

1. Train two churn models on the small demo company into a temporary MLflow store: the one the
   repository's config trains (``configs/churn.yaml`` trials, or ``--trials``), and a 5-trial one
   (usually a few dozen stumps: the cheapest booster, where kpredict's fixed per-row work weighs
   the most).
2. Build a features table of N customers (default 1M) by resampling the demo's scoring frame.
3. Time, for each model, on the same feature matrix (median of repeats):
   - raw ``booster.predict`` on the already-encoded numeric matrix (the floor);
   - kpredict's prediction path: input validation (keys, numbers, categories) + category
     re-coding + calibrated probability;
   goal: kpredict throughput >= 0.8x raw.
4. Explanations for the top 10 %: LightGBM ``pred_contrib`` + reasons in both languages, rows/s.
5. ``kpredict.score`` end to end from the features table (validate, predict, rank, explain 10 %,
   write parquet + manifest): time and peak RSS.
6. With ``--train-trials N``: training time of the churn pipeline on the default demo with N trials.

Usage: python -m benchmarks.bench_scoring [--rows 1000000] [--repeats 3] [--trials N] [--train-trials 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import median_seconds

REPO = Path(__file__).resolve().parents[1]


def _config(workdir: Path, data: Path, trials: int | None):
    """The repository's churn config on ``data``; ``trials`` overrides its optuna trials."""
    from kpredict.pipelines.churn import PIPELINE

    overrides = {} if trials is None else {"model.n_trials": trials}
    return PIPELINE.load_config(
        REPO / "configs" / "churn.yaml", data_dir=str(data), features=str(REPO / "configs" / "features.yaml"),
        feature_store_dir=str(workdir / "feature_store"), **overrides,
    )


def _throughput(estimator, spec, table: pd.DataFrame, repeats: int) -> dict[str, float]:
    """Rows/s of raw ``booster.predict`` on the encoded matrix vs kpredict's paths, same rows."""
    from kpredict.modeling._frame import encode_frame
    from kpredict.pipelines.churn.scoring import PLUGIN as plugin
    from kpredict.scoring.validate import validate_input

    rows = len(table)
    # the numeric matrix the booster reads, encoded once: the raw library's best case
    matrix = encode_frame(table[spec.features], list(estimator.feature_names_in_), estimator.categories_)
    (booster,) = estimator.boosters_  # the pipeline tunes on an out-of-time split: one booster
    raw_s = median_seconds(lambda: booster.predict(matrix, num_threads=estimator.n_jobs), repeats)

    def ours():
        validated = validate_input(table, spec)
        return plugin.predict_chunk(estimator, validated.frame)  # as the scoring interface does

    ours_s = median_seconds(ours, repeats)
    validated = validate_input(table, spec).frame
    predict_s = median_seconds(lambda: plugin.predict_chunk(estimator, validated), repeats)
    return {
        "trees": booster.num_trees(),
        "leaves": int(estimator.best_params_["num_leaves"]),
        "raw_rows_per_s": rows / raw_s,
        "kpredict_rows_per_s": rows / ours_s,
        "throughput_ratio": raw_s / ours_s,
        "predict_rows_per_s": rows / predict_s,
        "predict_ratio": raw_s / predict_s,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trials", type=int, default=None, help="optuna trials of the scored model (default: configs/churn.yaml)")
    parser.add_argument("--train-trials", type=int, default=0, help="also time training on the default demo")
    args = parser.parse_args(argv)

    from benchmarks.bench_feature_join import PeakRss
    from kpredict.datasets import generate
    from kpredict.pipelines.churn import PIPELINE
    from kpredict.pipelines.churn.scoring import PLUGIN as plugin
    from kpredict.scoring import score
    from kpredict.scoring.bundle import load_bundle
    from kpredict.scoring.validate import FeatureSpec, validate_input

    results: dict[str, float] = {}
    throughput: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir / 'mlflow.db'}"
        data = workdir / "demo"
        generate(data, size="small", seed=0)
        rng = np.random.default_rng(0)
        table = None
        # The model the repository's config trains, and a 5-trial one (usually a few dozen stumps:
        # the cheapest booster, where kpredict's fixed per-row work weighs the most).
        for label, trials in (("configured", args.trials), ("smallest", 5)):
            config = _config(workdir / label, data, trials=trials)
            PIPELINE.train(config, force=True)
            bundle = load_bundle("churn")
            estimator = plugin.load_estimator(bundle)
            spec = FeatureSpec.from_dict(bundle.meta["feature_spec"])
            if table is None:
                from kpredict.scoring.plugin import NoParams, ScoringContext

                base = plugin.scoring_input(ScoringContext("churn", config, pd.Timestamp("2026-10-01"), bundle, NoParams())).frame
                table = base.iloc[rng.integers(0, len(base), args.rows)].reset_index(drop=True)
                table["customer_id"] = [f"X{i:08d}" for i in range(args.rows)]
                configured = (config, estimator, spec)
            throughput[label] = _throughput(estimator, spec, table, args.repeats)
        config, estimator, spec = configured
        results.update(throughput["configured"])
        results.update({f"smallest_{key}": value for key, value in throughput["smallest"].items()})

        top = table.head(max(1, args.rows // 10))
        from kpredict.config import load_config
        from kpredict.explain import top_reasons
        from kpredict.features import FeatureRepoConfig

        repo = load_config(REPO / "configs" / "features.yaml", FeatureRepoConfig)
        definitions = repo.feature_definitions()
        names = list(estimator.feature_names_in_)
        validated_top = validate_input(top, spec).frame[names]
        contrib_s = median_seconds(lambda: estimator.contributions(validated_top), args.repeats)
        contributions = estimator.contributions(validated_top)
        reasons_s = median_seconds(lambda: top_reasons(contributions, validated_top, definitions, k=3), args.repeats)
        results["contrib_rows_per_s"] = len(top) / contrib_s
        results["explain_rows_per_s"] = len(top) / (contrib_s + reasons_s)

        table.to_parquet(workdir / "features.parquet", index=False)
        with PeakRss() as rss:
            start = time.perf_counter()
            score("churn", "2026-10-01", config=config, model="1", input_path=workdir / "features.parquet",
                  output_dir=workdir / "out", explain_top="10%")
            results["end_to_end_s"] = time.perf_counter() - start
        results["end_to_end_peak_extra_mib"] = rss.extra_mb

        if args.train_trials:
            default = workdir / "default"
            generate(default, size="default", seed=0)
            start = time.perf_counter()
            PIPELINE.train(_config(workdir / "t", default, trials=args.train_trials))
            results["train_default_s"] = time.perf_counter() - start

    print(f"\nChurn scoring, {args.rows:,} customers x {len(spec.features)} features (median of {args.repeats})")
    for label, figures in throughput.items():
        print(f"  {label} model: {figures['trees']} trees of {figures['leaves']} leaves")
        print(f"    raw booster.predict                 {figures['raw_rows_per_s']:>12,.0f} rows/s")
        print(f"    kpredict predict (encode+calibrate) {figures['predict_rows_per_s']:>12,.0f} rows/s   ratio {figures['predict_ratio']:.2f}x")
        print(f"    kpredict validate+predict           {figures['kpredict_rows_per_s']:>12,.0f} rows/s   ratio {figures['throughput_ratio']:.2f}x (goal >= 0.8x)")
    print(f"  pred_contrib (top 10 %)        {results['contrib_rows_per_s']:>12,.0f} rows/s")
    print(f"  explanations incl. sentences   {results['explain_rows_per_s']:>12,.0f} rows/s")
    print(f"  end to end (score + write)     {results['end_to_end_s']:>12.1f} s, peak extra {results['end_to_end_peak_extra_mib']:.0f} MiB")
    if "train_default_s" in results:
        print(f"  training, default demo, {args.train_trials} trials {results['train_default_s']:>8.0f} s")
    return results


if __name__ == "__main__":
    main()
