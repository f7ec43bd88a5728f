"""Event-level features for every payment, as of the payment's own time: kpredict's feature store
on the training path (a fresh store: the payment views are evaluated at each payment's time,
strictly before it, then the comparisons are derived) against one DuckDB window query computing
the same features from the same parquet file.

Each side runs in a fresh process (so its peak memory is its own) on a fresh store directory (so
nothing is cached); the medians of the repeats are compared, and the features of both sides are
checked to agree. Usage: python -m benchmarks.bench_event_features [--data data/demo] [--repeats 3]
(the default demo has about 1M payments; `kpredict data generate` makes it).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]

_QUERY = """
WITH p AS (
    SELECT txn_id, account_id, ts, amount, ln(greatest(amount, 0.01)) AS log_amount,
           hour(ts) + minute(ts) / 60.0 AS hour_of_day, country, channel, merchant_category
    FROM read_parquet('{path}')
), h AS (
    SELECT *,
        count(*) OVER (a RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS payments_10min,
        count(*) OVER (a RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS payments_90d,
        avg(log_amount) OVER (a RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS la_mean,
        stddev_samp(log_amount) OVER (a RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS la_std,
        avg(hour_of_day) OVER (a RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS h_mean,
        stddev_samp(hour_of_day) OVER (a RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS h_std,
        count(*) OVER (PARTITION BY account_id, hour(ts) ORDER BY ts RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS at_own_hour,
        date_diff('second', lag(ts) OVER (a), ts) / 3600.0 AS hours_since_previous_payment,
        count(*) OVER (PARTITION BY account_id, country ORDER BY ts RANGE BETWEEN INTERVAL 365 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS in_country,
        count(*) OVER (PARTITION BY account_id, channel ORDER BY ts RANGE BETWEEN INTERVAL 365 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS on_channel,
        count(*) OVER (PARTITION BY account_id, merchant_category ORDER BY ts RANGE BETWEEN INTERVAL 365 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS in_category,
        count(*) OVER (PARTITION BY hour(ts) ORDER BY ts RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS at_hour,
        count(*) OVER (ORDER BY ts RANGE BETWEEN INTERVAL 90 DAY PRECEDING AND CURRENT ROW EXCLUDE GROUP) AS network
    FROM p
    WINDOW a AS (PARTITION BY account_id ORDER BY ts)
)
SELECT txn_id, account_id, ts,
    CASE WHEN la_std IS NULL THEN 0 ELSE (log_amount - la_mean) / greatest(la_std, 0.25) END AS amount_vs_usual,
    CASE WHEN h_std IS NULL THEN 0 ELSE abs(hour_of_day - h_mean) / greatest(h_std, 0.5) END AS hour_vs_usual,
    (at_own_hour + 1.0 / 24) / (payments_90d + 1.0) AS account_hour_share,
    CASE WHEN network > 0 THEN at_hour / network ELSE 1.0 / 24 END AS hour_share,
    CAST(payments_90d > 0 AND in_country = 0 AS DOUBLE) AS new_country,
    CAST(payments_90d > 0 AND on_channel = 0 AS DOUBLE) AS new_channel,
    CAST(payments_90d > 0 AND in_category = 0 AS DOUBLE) AS new_merchant_category,
    CAST(payments_10min AS DOUBLE) AS payments_10min,
    coalesce(hours_since_previous_payment, 24.0 * 365) AS hours_since_previous_payment
FROM h
ORDER BY ts, txn_id
"""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _kpredict(data: str) -> tuple[float, float, pd.DataFrame]:
    from kpredict.pipelines.risk_anomaly import PIPELINE
    from kpredict.pipelines.risk_anomaly.events import event_features, load_events, read_events

    with tempfile.TemporaryDirectory() as store_dir:
        config = PIPELINE.load_config(REPO / "configs" / "risk_anomaly.yaml", data_dir=data, features=str(REPO / "configs" / "features.yaml"), feature_store_dir=store_dir)
        start = time.perf_counter()
        store = config.open_store()
        source = read_events(config, store)  # as training does: the file is read once for the events and the views
        frame = event_features(config, store, load_events(config, store, source=source), source=source)
        seconds = time.perf_counter() - start
    return seconds, _peak_mb(), frame


def _duckdb(data: str) -> tuple[float, float, pd.DataFrame]:
    import duckdb

    start = time.perf_counter()
    with duckdb.connect() as connection:
        connection.execute("SET threads TO 2")
        frame = connection.execute(_QUERY.format(path=Path(data, "transactions.parquet").as_posix())).df()
    return time.perf_counter() - start, _peak_mb(), frame


def _in_fresh_process(side: str, data: str) -> tuple[float, float, pd.DataFrame]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_kpredict if side == "kpredict" else _duckdb, (data,))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO / "data" / "demo"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not Path(args.data, "transactions.parquet").is_file():
        raise SystemExit(f"{args.data}/transactions.parquet not found: run `kpredict data generate --out {args.data}` first")

    runs = {side: [_in_fresh_process(side, args.data) for _ in range(args.repeats)] for side in ("kpredict", "duckdb")}
    seconds = {side: statistics.median(r[0] for r in results) for side, results in runs.items()}
    peak = {side: max(r[1] for r in results) for side, results in runs.items()}
    ours, theirs = runs["kpredict"][0][2], runs["duckdb"][0][2]
    merged = ours.merge(theirs, on="txn_id", suffixes=("", "_duckdb"), validate="one_to_one")
    from kpredict.pipelines.risk_anomaly.events import FEATURES

    agree = {name: float(np.mean(np.isclose(merged[name], merged[f"{name}_duckdb"], rtol=1e-6, atol=1e-6))) for name in FEATURES}
    rows = len(ours)
    print(
        f"event features, {rows:,} payments, median of {args.repeats} (fresh process and store each): "
        f"kpredict {seconds['kpredict']:.1f} s (peak {peak['kpredict']:,.0f} MB), DuckDB window query {seconds['duckdb']:.1f} s "
        f"(peak {peak['duckdb']:,.0f} MB) = {seconds['kpredict'] / seconds['duckdb']:.2f}x DuckDB's time"
    )
    print("  rows with the same value on both sides: " + ", ".join(f"{name} {share:.2%}" for name, share in agree.items()))
    return {"rows": rows, "kpredict_s": seconds["kpredict"], "duckdb_s": seconds["duckdb"], "ratio": seconds["kpredict"] / seconds["duckdb"], **{f"agree_{k}": v for k, v in agree.items()}}


if __name__ == "__main__":
    main()
