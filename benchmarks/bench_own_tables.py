"""Users' own tables through ``--table``: quality against the references a user would try first.

- ``robyn``: Robyn's simulated weekly spend sheet (``budget/dt_simulated_weekly.csv``) through the
  budget pipeline's table path, judged by rolling-origin time-series CV (4 origins, 13 weeks each):
  R² of the pipeline's model (search, bootstrap median parameters) against OLS on the raw spend and
  the same controls, pooled over the folds' held-out weeks.
- ``store_item``: the store x item daily sales table (``forecasting/store_item/train.csv``) through
  ``kpredict train sales_forecast --table``, the last 90 days held out: MASE against the seasonal
  naive and against the fixed mean of AutoETS + AutoTheta + AutoARIMA (raw StatsForecast on the same
  split), coverage per interval group, and the time of each.

Usage: python -m benchmarks.bench_own_tables [--set robyn|store_item] [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROBYN_CHANNELS = ["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"]
ROBYN_CONTROLS = ["competitor_sales_B", "newsletter"]


def robyn_time_series_cv(path: str | Path, workdir: str | Path, *, origins: int = 4, weeks: int = 13, n_trials: int = 60, n_boot: int = 10) -> tuple[float, float]:
    """(R² of the pipeline's model, R² of OLS on raw spend + controls) over rolling-origin held-out weeks."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score

    from kpredict.pipelines.budget import BudgetConfig
    from kpredict.pipelines.budget.data import design, load_marketing
    from kpredict.pipelines.budget.table import open_table
    from kpredict.pipelines.budget.train import fit_point, folds, media_search

    table = {"path": str(path), "time": "DATE", "kpi": "revenue", "channels": ROBYN_CHANNELS, "controls": ROBYN_CONTROLS}
    config = BudgetConfig.model_validate({
        "table": table, "feature_store_dir": str(Path(workdir) / "store"),
        "search": {"n_trials": n_trials}, "bootstrap": {"n_boot": n_boot, "n_trials": 10},
    })
    config, store, _ = open_table(config)
    frame = load_marketing(config, store)
    d = design(config, frame, frame[config.time_column].min())
    raw = [f"{c}__lag0" for c in d.channels] + d.controls
    actual, ours, ols = [], [], []
    for k in range(origins, 0, -1):
        learn = np.arange(len(frame) - k * weeks)
        held = np.arange(len(frame) - k * weeks, len(frame) - (k - 1) * weeks)
        search = media_search(config, d)
        best, _ = search.run(d.X.iloc[learn], d.y[learn], folds(config, len(learn)))
        model, _, _ = fit_point(config, search, d.X.iloc[learn], d.y[learn], best, f"fold {origins - k + 1}")
        actual.append(d.y[held])
        ours.append(model.predict(d.X.iloc[held]))
        ols.append(LinearRegression().fit(d.X.iloc[learn][raw], d.y[learn]).predict(d.X.iloc[held][raw]))
    y = np.concatenate(actual)
    return float(r2_score(y, np.concatenate(ours))), float(r2_score(y, np.concatenate(ols)))


def store_item(path: str | Path, workdir: str | Path, *, horizon: int = 90) -> dict[str, float]:
    """The store x item table through the sales pipeline's table path against raw StatsForecast's Mean3."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    from kpredict.forecasting.metrics import forecast_metrics
    from kpredict.pipelines.sales_forecast.train import train

    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{Path(workdir) / 'mlflow.db'}"
    os.environ["KPREDICT_MODELS_DIR"] = str(Path(workdir) / "models")
    from kpredict.tracking.store import configure

    configure()
    started = time.perf_counter()
    result = train(table={"path": str(path), "id": "store,item", "time": "date", "target": "sales"}, horizon=horizon,
                   feature_store_dir=str(Path(workdir) / "store"))
    ours_s = time.perf_counter() - started
    raw = pd.read_csv(path, parse_dates=["date"])
    df = pd.DataFrame({"unique_id": raw["store"].astype(str) + "/" + raw["item"].astype(str), "ds": raw["date"], "y": raw["sales"].astype(float)})
    cutoff = np.sort(df["ds"].unique())[-horizon]
    history, actuals = df[df["ds"] < cutoff], df[df["ds"] >= cutoff]
    started = time.perf_counter()
    sf = StatsForecast(models=[AutoETS(season_length=7), AutoTheta(season_length=7), AutoARIMA(season_length=7)], freq="D", n_jobs=2)
    forecast = sf.forecast(df=history, h=horizon)
    raw_s = time.perf_counter() - started
    forecast["Mean3"] = forecast[["AutoETS", "AutoTheta", "AutoARIMA"]].mean(axis=1)
    joined = actuals.merge(forecast, on=["unique_id", "ds"])
    mean3 = forecast_metrics(joined, "Mean3", history, 7)
    m = result.metrics
    return {
        "kpredict_mase": m["holdout_mase"], "seasonal_naive_mase": m["baseline_holdout_mase"], "mean3_mase": mean3["mase"],
        **{k: v for k, v in m.items() if k.startswith("holdout_coverage")},
        "kpredict_s": ours_s, "raw_statsforecast_mean3_forecast_s": raw_s,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["robyn", "store_item", "all"], default="all")
    parser.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args(argv)
    shared = Path(args.shared)
    wanted = {"robyn": "budget/dt_simulated_weekly.csv", "store_item": "forecasting/store_item/train.csv"}
    for name, relative in wanted.items():
        if args.set not in (name, "all"):
            continue
        path = shared / relative
        if not path.is_file():
            raise SystemExit(f"{path} is missing: this benchmark reads the shared data sets (--shared DIR)")
        with tempfile.TemporaryDirectory() as tmp:
            if name == "robyn":
                ours, ols = robyn_time_series_cv(path, tmp)
                print(f"robyn weekly, rolling-origin CV (4 x 13 weeks): R2 kpredict {ours:.3f}, OLS on raw spend {ols:.3f}")
            else:
                figures = store_item(path, tmp)
                print("store_item, last 90 days held out: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
