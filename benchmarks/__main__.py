"""`make bench`: every benchmark, each printing ratios against the raw library in the same run.

Usage: python -m benchmarks [--quick]   (--quick: a 10x smaller feature join for a fast look, and
no event-feature run, which reads the default demo in data/demo)
The long forecasting scale runs (5,000 and 30,000 series) are separate:
python -m benchmarks.bench_forecast --scale --n-jobs 2
"""

from __future__ import annotations

import sys

from benchmarks import (
    bench_anomaly,
    bench_budget,
    bench_classifier,
    bench_event_features,
    bench_feature_join,
    bench_forecast,
    bench_generate,
    bench_scoring,
    bench_startup,
    bench_tracking,
)


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    bench_startup.main()
    bench_generate.main()
    join_args = ["--events", "1000000", "--entities", "100000"] if quick else []
    bench_feature_join.main(join_args)
    bench_tracking.main([])
    bench_scoring.main(["--rows", "100000"] if quick else ["--train-trials", "50"])
    bench_classifier.main(["--trials", "5", "--repeats", "1"] if quick else [])
    bench_forecast.main(["--repeats", "1"] if quick else ["--repeats", "3", "--n-jobs", "2"])
    bench_anomaly.main(["--rows", "100000"] if quick else [])
    bench_budget.main(["--refits", "40", "--repeats", "1"] if quick else [])
    if not quick:  # needs the default demo in data/demo (`make demo` or `kpredict data generate`)
        bench_event_features.main(["--repeats", "3"])


if __name__ == "__main__":
    main()
