"""Churn classifier cost on 10,000 rows x 20 features: training time and test ROC-AUC of
BoostedClassifier (5-fold cross-validated bag, and one 20 % split) against the plain LightGBM +
30-trial optuna loop and LightGBM's defaults, on the same rows in the same run; then the serving
cost of the bag (probabilities and exact reasons) against the raw booster.

Usage: python -m benchmarks.bench_classifier [--rows 10000] [--trials 30] [--score-rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from benchmarks import median_seconds


def churn_like_table(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """20 features: 14 numbers (8 informative, interactions among them) and 6 categories, some of
    them carrying signal; about 20 % positives."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=rows, n_features=14, n_informative=8, n_redundant=2, n_clusters_per_class=3,
        weights=[0.8], flip_y=0.03, random_state=seed,
    )
    frame = pd.DataFrame(X, columns=[f"number_{i}" for i in range(14)])
    rng = np.random.default_rng(seed)
    for i in range(6):
        levels = [f"level_{k}" for k in range(3 + 2 * i)]
        if i < 3:  # informative: binned from a hidden informative column, with noise
            codes = pd.qcut(X[:, i] + rng.normal(0, 0.5, rows), len(levels), labels=False)
        else:
            codes = rng.integers(0, len(levels), rows)
        frame[f"category_{i}"] = pd.Categorical.from_codes(codes, categories=levels)
    frame.loc[rng.random(rows) < 0.05, "number_3"] = np.nan
    return frame, y


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--score-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from kpredict.modeling import BoostedClassifier
    from kpredict.modeling._frame import encode_frame
    from kpredict.modeling.references import PlainTuningLoop

    X, y = churn_like_table(args.rows * 5 // 4, seed=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, stratify=y, random_state=0)
    engines = {
        "lightgbm_default": lambda: lgb.LGBMClassifier(n_jobs=2, verbosity=-1),
        "plain_loop": lambda: PlainTuningLoop(n_trials=args.trials),
        "boosted_cv5_bag": lambda: BoostedClassifier(n_trials=args.trials, seed=0),
        "boosted_split": lambda: BoostedClassifier(n_trials=args.trials, seed=0, cv=None),
    }
    results: dict[str, float] = {}
    fitted = {}
    print(f"classifier training: {len(X_train)} rows x {X.shape[1]} features, {args.trials} trials, 2 threads")
    for name, make in engines.items():
        started = time.perf_counter()
        fitted[name] = make().fit(X_train, y_train)
        seconds = time.perf_counter() - started
        auc = roc_auc_score(y_test, fitted[name].predict_proba(X_test)[:, 1])
        results[f"{name}_fit_s"], results[f"{name}_auc"] = seconds, auc
    for name in engines:
        ratio = results[f"{name}_fit_s"] / results["plain_loop_fit_s"]
        print(f"  {name:>17}: fit {results[f'{name}_fit_s']:7.1f} s ({ratio:.2f}x the plain loop), test ROC-AUC {results[f'{name}_auc']:.4f}")

    bag, single = fitted["boosted_cv5_bag"], fitted["boosted_split"]
    many = X.sample(args.score_rows, replace=True, random_state=1)
    explained = many.head(args.score_rows // 10)
    matrix = encode_frame(many, list(single.feature_names_in_), single.categories_)
    raw_s = median_seconds(lambda: single.boosters_[0].predict(matrix, raw_score=True), args.repeats)
    print(f"serving {len(many)} rows (reasons for {len(explained)}), median of {args.repeats}:")
    print(f"  raw booster.predict (one booster, encoded matrix): {raw_s:.3f} s")
    for name, model in (("one split", single), ("5-fold bag", bag)):
        proba_s = median_seconds(lambda: model.predict_proba(many), args.repeats)
        reasons_s = median_seconds(lambda: model.contributions(explained), args.repeats)
        key = "bag" if model is bag else "single"
        results[f"{key}_predict_s"], results[f"{key}_reasons_s"] = proba_s, reasons_s
        trees = model.best_iteration_ * len(model.boosters_)
        print(f"  {name:>10} ({trees} trees): predict_proba {proba_s:.3f} s ({proba_s / raw_s:.1f}x raw), "
              f"reasons {reasons_s:.2f} s")
    return results


if __name__ == "__main__":
    main()
