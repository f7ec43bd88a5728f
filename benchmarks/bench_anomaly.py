"""Anomaly scoring speed: kpredict's AnomalyScorer (isolation_forest, row chunks on threads) against
raw scikit-learn ``IsolationForest.score_samples`` on the same fitted forest and the same matrix.

scikit-learn's ``score_samples`` runs on one core whatever ``n_jobs`` says; the scorer splits the
rows into chunks scored on ``n_jobs`` threads (the trees' traversal releases the GIL). The scores
must be identical. Usage: python -m benchmarks.bench_anomaly [--rows 1000000] [--features 20] [--repeats 3]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from benchmarks import median_seconds


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)

    from kpredict.modeling.anomaly import AnomalyScorer

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(args.rows, args.features)), columns=[f"x{i}" for i in range(args.features)])
    scorer = AnomalyScorer(method="isolation_forest", n_estimators=100, reference_rows=20_000, n_jobs=args.n_jobs).fit(frame.head(100_000))
    matrix = frame.to_numpy()
    forest = scorer.estimator_
    raw_s = median_seconds(lambda: forest.score_samples(matrix), args.repeats)
    ours_s = median_seconds(lambda: scorer.raw_score(frame), args.repeats)
    identical = bool(np.array_equal(-forest.score_samples(matrix), scorer.raw_score(frame)))
    results = {"rows": args.rows, "raw_s": raw_s, "kpredict_s": ours_s, "speedup": raw_s / ours_s, "identical": identical}
    print(
        f"anomaly scoring, {args.rows:,} rows x {args.features} features, 100 trees, median of {args.repeats}: "
        f"raw score_samples {raw_s:.2f} s, kpredict (n_jobs={args.n_jobs}) {ours_s:.2f} s = {raw_s / ours_s:.2f}x; identical scores: {identical}"
    )
    return results


if __name__ == "__main__":
    main()
