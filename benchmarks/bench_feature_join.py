"""Point-in-time join of a materialised feature view vs the raw engines, on the same data.

1M entity rows joined against a view materialised from 10M event rows (100k entities, a year of
events): kpredict's ``training_frame`` vs a raw DuckDB ``ASOF LEFT JOIN`` and pandas
``merge_asof`` (with the sorts it needs and the reorder back to entity order). Each engine runs in
its own subprocess so peak memory is measured cleanly (RSS sampled every 5 ms during the join,
minus the RSS just before it). Prints medians and ratios against the faster raw engine.

Goal (issue 2): time <= 1.25x and peak memory <= 2x the faster raw engine.

Usage: python -m benchmarks.bench_feature_join [--events 10000000] [--entities 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

T0 = np.datetime64("2025-01-01T00:00:00", "ns").astype(np.int64)
YEAR_NS = 365 * 86400 * 10**9


def make_data(n_events: int, n_entities: int, n_keys: int = 100_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    events = pd.DataFrame(
        {
            "k": rng.integers(0, n_keys, n_events).astype(np.int64),
            "ts": (T0 + rng.integers(0, YEAR_NS, n_events)).astype("datetime64[ns]"),
            "v": rng.random(n_events),
        }
    )
    entity = pd.DataFrame(
        {
            "k": rng.integers(0, n_keys, n_entities).astype(np.int64),
            "event_timestamp": (T0 + rng.integers(0, YEAR_NS, n_entities)).astype("datetime64[ns]"),
        }
    )
    return events, entity


class PeakRss:
    """Peak resident memory above the level at start, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.start = self._process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def extra_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def run_engine(engine: str, n_events: int, n_entities: int, repeats: int) -> dict:
    events, entity = make_data(n_events, n_entities)
    if engine == "kpredict":
        from kpredict.features import FeatureRepoConfig, FeatureStore

        tmp = Path(tempfile.mkdtemp())
        events.to_parquet(tmp / "events.parquet", index=False)
        repo = FeatureRepoConfig.model_validate(
            {
                "entities": {"thing": {"join_keys": ["k"]}},
                "sources": {"events": {"kind": "parquet", "path": "events.parquet"}},
                "feature_views": {
                    "things": {
                        "entities": ["thing"],
                        "source": "events",
                        "event_timestamp": "ts",
                        "features": [{"name": "v_latest", "transform": {"kind": "latest", "column": "v"}, "description": {"en": "v", "zh": "v"}}],
                    }
                },
            }
        )
        store = FeatureStore(repo, tmp)
        t = time.perf_counter()
        store.materialize()
        materialise_s = time.perf_counter() - t
        store.training_frame(entity.head(1000), ["things"])  # warm: the join table is built once per view

        def join():
            return store.training_frame(entity, ["things"])["v_latest"].to_numpy()

    elif engine == "duckdb":
        import duckdb

        materialise_s = 0.0
        con = duckdb.connect(config={"threads": 2})
        ent = entity.assign(__row=np.arange(len(entity)))
        con.register("ev", events)
        con.register("ent", ent)

        def join():
            query = "SELECT v FROM ent e ASOF LEFT JOIN ev m ON e.k = m.k AND e.event_timestamp >= m.ts ORDER BY e.__row"
            return con.sql(query).df()["v"].to_numpy()

    else:  # pandas
        materialise_s = 0.0

        def join():
            left = entity.assign(__row=np.arange(len(entity))).sort_values("event_timestamp", kind="mergesort")
            right = events.sort_values("ts", kind="mergesort")
            merged = pd.merge_asof(left, right, left_on="event_timestamp", right_on="ts", by="k", direction="backward")
            return merged.sort_values("__row")["v"].to_numpy()

    times, memory = [], []
    result = None
    for _ in range(repeats):
        with PeakRss() as rss:
            t = time.perf_counter()
            result = join()
            times.append(time.perf_counter() - t)
        memory.append(rss.extra_mb)
    checksum = float(np.nansum(result)), int(np.isnan(result).sum())
    return {"engine": engine, "median_s": statistics.median(times), "times": times, "peak_extra_mb": max(memory), "materialise_s": materialise_s, "checksum": checksum}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--entities", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        print(json.dumps(run_engine(args.engine, args.events, args.entities, args.repeats)))
        return {}
    results = {}
    for engine in ("duckdb", "pandas", "kpredict"):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_feature_join", "--engine", engine, "--events", str(args.events), "--entities", str(args.entities), "--repeats", str(args.repeats)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
        )
        results[engine] = json.loads(out.stdout.strip().splitlines()[-1])
    raw = min(("duckdb", "pandas"), key=lambda e: results[e]["median_s"])
    ours = results["kpredict"]
    print(f"\nPoint-in-time join: {args.entities:,} entity rows x {args.events:,} event rows (median of {args.repeats})")
    print(f"{'engine':<10} {'median s':>9} {'peak extra MiB':>15} {'checksum':>28}")
    for engine, r in results.items():
        print(f"{engine:<10} {r['median_s']:>9.2f} {r['peak_extra_mb']:>15.0f} {str(r['checksum']):>28}")
    time_ratio = ours["median_s"] / results[raw]["median_s"]
    memory_ratio = ours["peak_extra_mb"] / max(results[raw]["peak_extra_mb"], 1.0)
    print(f"kpredict / {raw}: time {time_ratio:.2f}x (goal <= 1.25x), peak memory {memory_ratio:.2f}x (goal <= 2x)")
    print(f"kpredict materialisation of the view (once, not in the join time): {ours['materialise_s']:.1f} s")
    same = all(results[e]["checksum"] == ours["checksum"] for e in ("duckdb", "pandas"))
    print(f"same values as both raw engines: {same}")
    return {"time_ratio": time_ratio, "memory_ratio": memory_ratio, "same": same}


if __name__ == "__main__":
    main()
