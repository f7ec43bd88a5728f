"""Sales forecasting: kpredict's overhead over raw StatsForecast, and scale.

1. Overhead (goal <= 1.1x): on the tourism quarterly series (427 series, h = 8), the statistical
   ensemble (AutoETS + AutoTheta, 3 rolling-origin windows) through kpredict — cross-validate,
   choose per series, conformal intervals, forecast — against the same raw StatsForecast calls
   (``cross_validation`` with both models, then ``forecast`` with both), median of repeats.
2. Scale (``--scale``): the ``large`` demo (5,000 daily series x 3 years): the pipeline's
   cross-validation + fit + forecast with the repository config, time and peak memory; and
   ``--series 30000`` synthetic daily series (M5-sized) forecast only with a fitted choice.

3. Engines across workers (``--dask-scaling SERIES --workers 1,4,16``): cross-validation + choice +
   forecast through kpredict on the local (process pool) and the Dask engine, and the same raw
   StatsForecast calls, at each worker count; forecasts must be equal across engines.

Usage: python -m benchmarks.bench_forecast [--repeats 3] [--n-jobs 2] [--scale | --large | --series 30000 | --dask-scaling 2000 --workers 1,2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TOURISM = REPO.parent / "shared" / "data" / "forecasting" / "tourism"


def _median(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def overhead(repeats: int, n_jobs: int) -> None:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta

    from kpredict.datasets.tourism import load_tourism
    from kpredict.forecasting import Forecaster, ForecasterSettings, prepare_series

    train, _ = load_tourism(TOURISM, "quarterly")
    h, season, windows = 8, 4, 3
    # the same series for both: long enough for 3 windows (kpredict gives shorter ones fewer windows)
    lengths = train.groupby("unique_id").size()
    train = train[train.unique_id.isin(lengths.index[lengths >= 12 + h + 2 * h])]

    def raw():
        sf = StatsForecast([AutoETS(season_length=season), AutoTheta(season_length=season)], freq="QS", n_jobs=n_jobs)
        sf.cross_validation(df=train, h=h, n_windows=windows, step_size=h)
        return sf.forecast(df=train, h=h)

    settings = ForecasterSettings(
        freq="QS", season_length=season, horizon=h, models=[{"model": "AutoETS"}, {"model": "AutoTheta"}], baselines=[],
        intermittent_models=[], cv_windows=windows, selection="ensemble", top_k=2, min_train_length=12, n_jobs=n_jobs,
    )

    def ours():
        history = prepare_series(train, freq="QS")
        return Forecaster(settings).fit(history).predict(history)

    first = train[train.unique_id == train.unique_id.iloc[0]]
    StatsForecast([AutoETS(season_length=season), AutoTheta(season_length=season)], freq="QS").forecast(df=first, h=h)  # JIT warm-up
    t_raw, _ = _median(raw, repeats)
    t_ours, forecast = _median(ours, repeats)
    print(f"tourism quarterly ({train.unique_id.nunique()} series, h={h}, {windows} CV windows, AutoETS+AutoTheta, n_jobs={n_jobs})")
    print(f"  raw StatsForecast cross_validation + forecast : {t_raw:7.1f} s")
    print(f"  kpredict choose + intervals + forecast        : {t_ours:7.1f} s   ratio {t_ours / t_raw:.2f}x (goal <= 1.1x)")
    assert len(forecast) == train.unique_id.nunique() * h


def scale_large(n_jobs: int) -> None:
    import os
    import tempfile

    from kpredict.datasets import generate
    from kpredict.pipelines.sales_forecast import PIPELINE
    from kpredict.pipelines.sales_forecast.data import future_covariates, load_history
    from kpredict.pipelines.sales_forecast.train import forecaster_settings

    from kpredict.forecasting import Forecaster

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{tmp}/mlflow.db")
        data = Path(tmp) / "large"
        generate(data, size="large", seed=0)
        config = PIPELINE.load_config(REPO / "configs" / "sales_forecast.yaml", data_dir=str(data), features=str(REPO / "configs" / "features.yaml"),
                                   feature_store_dir=str(Path(tmp) / "fs"), n_jobs=n_jobs)
        store = config.open_store()
        history, _ = load_history(config, store)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"large demo: {history.unique_id.nunique():,} series x {history.ds.nunique():,} days, n_jobs={n_jobs}", flush=True)
        start = time.perf_counter()
        model = Forecaster(forecaster_settings(config)).fit(history)
        fitted = time.perf_counter() - start
        print(f"  cross-validation + choice + global model : {fitted:7.1f} s  {model.timings_}", flush=True)
        future = future_covariates(config, store, model.future_index(history).to_frame(index=False))
        forecast = model.predict(history, future=future)
        total = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  + forecast ({len(forecast):,} rows)        : {total:7.1f} s total, peak RSS {peak / 1024:.0f} MiB (before {before / 1024:.0f} MiB)")


def _synthetic_daily(series: int, days: int = 730) -> pd.DataFrame:
    """Poisson sales with a weekly pattern around gamma-distributed levels (seeded)."""
    rng = np.random.default_rng(0)
    weekly = np.array([0.8, 0.9, 1.0, 1.0, 1.1, 1.4, 1.3])
    level = rng.gamma(2.0, 5.0, series)[:, None]
    y = rng.poisson(level * np.tile(weekly, days // 7 + 1)[None, :days]).astype(float)
    ids = np.array([f"s{i:05d}" for i in range(series)])
    return pd.DataFrame({"unique_id": np.repeat(ids, days), "ds": np.tile(pd.date_range("2024-11-01", periods=days).to_numpy(), series), "y": y.ravel()})


def scale_forecast_only(series: int, n_jobs: int) -> None:
    from kpredict.forecasting import Forecaster, ForecasterSettings

    days = 730
    history = _synthetic_daily(series, days)
    ids = history["unique_id"].unique()
    settings = ForecasterSettings(freq="D", season_length=7, horizon=28, models=[{"model": "AutoETS", "params": {"model": "ZNA"}}],
                                  baselines=[{"model": "SeasonalNaive"}], cv_windows=3, top_k=2, n_jobs=n_jobs)
    small = history[history.unique_id.isin(ids[:300])]
    model = Forecaster(settings).fit(small)  # the choice learnt on 300 series; unseen series get the class default
    start = time.perf_counter()
    forecast = model.predict(history)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{series:,} daily series x {days} days, forecast only (h=28, {model.class_default_['regular']}), n_jobs={n_jobs}: "
          f"{elapsed:.1f} s, {series / elapsed:,.0f} series/s, peak RSS {peak / 1024:.0f} MiB, {len(forecast):,} rows")


def dask_scaling(series: int, workers: list[int]) -> None:
    """Cross-validation + choice + forecast through kpredict on the local and the Dask engine, and the
    same raw StatsForecast calls, at each worker count; forecasts must not depend on the engine."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    from kpredict.forecasting import Forecaster, ForecasterSettings

    history = _synthetic_daily(series)
    h, windows = 28, 3
    print(f"{series:,} daily series x 730 days: AutoETS(ZNA) + SeasonalNaive, {windows} CV windows, h={h}, fit on the last 364 days", flush=True)

    def raw(n: int):
        models = [AutoETS(season_length=7, model="ZNA"), SeasonalNaive(season_length=7)]
        sf = StatsForecast(models, freq="D", n_jobs=n)
        sf.cross_validation(df=history, h=h, n_windows=windows, step_size=14, input_size=364)
        return sf.forecast(df=history.groupby("unique_id").tail(364), h=h)

    def ours(n: int, engine: str):
        settings = ForecasterSettings(freq="D", season_length=7, horizon=h, models=[{"model": "AutoETS", "params": {"model": "ZNA"}}],
                                      baselines=[{"model": "SeasonalNaive"}], intermittent_models=[], cv_windows=windows, cv_step=14,
                                      cv_input_size=364, top_k=2, n_jobs=n)
        return Forecaster(settings).fit(history, engine=engine).predict(history, engine=engine)

    StatsForecast([AutoETS(season_length=7, model="ZNA")], freq="D").forecast(df=history[history.unique_id == "s00000"], h=h)  # warm-up
    reference, base = None, {}
    print(f"  {'workers':>7} {'raw SF':>8} {'local':>8} {'dask':>8}   local/raw  dask/raw  speed-up (local, dask) over the first row", flush=True)
    for n in workers:
        row = {}
        for name, run in (("raw", lambda n=n: raw(n)), ("local", lambda n=n: ours(n, "local")), ("dask", lambda n=n: ours(n, "dask"))):
            start = time.perf_counter()
            out = run()
            row[name] = time.perf_counter() - start
            if name != "raw":
                yhat = out.sort_values(["unique_id", "ds"])["yhat"].to_numpy()
                if reference is None:
                    reference = yhat
                elif not np.allclose(yhat, reference, rtol=1e-5, atol=1e-5):  # the fugue backend computes in float32
                    raise AssertionError(f"{name} engine with {n} workers forecasts differently")
        base = base or row
        print(f"  {n:>7} {row['raw']:>7.1f}s {row['local']:>7.1f}s {row['dask']:>7.1f}s   {row['local'] / row['raw']:>8.2f}x "
              f"{row['dask'] / row['raw']:>8.2f}x  {base['local'] / row['local']:>5.1f}x {base['dask'] / row['dask']:>5.1f}x", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--scale", action="store_true", help="also the large-demo and 30k-series runs (long)")
    parser.add_argument("--large", action="store_true", help="only the large-demo run (with --scale: both)")
    parser.add_argument("--series", type=int, default=0, help="only the forecast-only run on this many series")
    parser.add_argument("--dask-scaling", type=int, default=0, metavar="SERIES",
                        help="only the engine scaling run on this many series, at each of --workers")
    parser.add_argument("--workers", default="1,2", help="worker counts for --dask-scaling, e.g. 1,4,8,16")
    args = parser.parse_args(argv)
    if args.dask_scaling:
        print("== sales forecasting: engines across workers ==")
        dask_scaling(args.dask_scaling, [int(w) for w in args.workers.split(",")])
        return
    print("== sales forecasting ==")
    if not (args.large or args.series):
        if TOURISM.is_dir():
            overhead(args.repeats, args.n_jobs)
        else:
            print(f"  tourism data not found at {TOURISM}; overhead benchmark skipped")
    if args.scale or args.large:
        scale_large(args.n_jobs)
    if args.scale or args.series:
        scale_forecast_only(args.series or 30_000, args.n_jobs)


if __name__ == "__main__":
    main()
