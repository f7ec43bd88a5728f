"""Sales-forecast training recipe: history → hold out the last horizon → cross-validate candidates
per series → choose → conformal intervals → evaluate against SeasonalNaive → log, register, gate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError
from kpredict.forecasting import Forecaster, ForecasterSettings, forecast_metrics
from kpredict.forecasting.series import ID, TARGET, TIME
from kpredict.hashing import frame_hash
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig
from kpredict.pipelines.sales_forecast.data import future_covariates, load_history, open_store

__all__ = ["SalesForecastResult", "forecaster_settings", "load_sales_config", "train"]

logger = logging.getLogger(__name__)

PIPELINE = "sales_forecast"


@dataclass
class SalesForecastResult:
    """What one training run produced (also all in the MLflow run)."""

    run_id: str
    model_version: int
    promoted: bool
    promotion_reason: str
    metrics: dict[str, float]
    selection: pd.DataFrame = field(repr=False)
    holdout: pd.DataFrame = field(repr=False)


def load_sales_config(config: SalesForecastConfig | str | Path | None = None, **overrides: Any) -> SalesForecastConfig:
    """A SalesForecastConfig from an object, a YAML path, or ``configs/sales_forecast.yaml``."""
    from kpredict.config.loader import load_pipeline_config

    return load_pipeline_config(config, SalesForecastConfig, "configs/sales_forecast.yaml", **overrides)


def forecaster_settings(config: SalesForecastConfig) -> ForecasterSettings:
    """The forecasting engine's settings from the pipeline config."""
    g = config.global_model
    global_model = None
    if g.enabled:
        global_model = {
            "lags": g.lags, "rolling_windows": g.rolling_windows, "lag_rolling": g.lag_rolling, "differences": g.differences,
            "date_features": g.date_features, "known_future": list(g.known_future), "num_boost_round": g.num_boost_round,
            "learning_rate": g.learning_rate, "num_leaves": g.num_leaves, "subsample": g.subsample, "colsample": g.colsample,
            "seed": config.seed, "num_threads": config.n_jobs,
        }
    return ForecasterSettings(
        freq=config.series.freq, season_length=config.season_length, horizon=config.horizon,
        models=[_entry(m) for m in config.models], intermittent_models=[_entry(m) for m in config.intermittent_models],
        baselines=[_entry(m) for m in config.baselines], fallback=_entry(config.fallback), global_model=global_model,
        cv_windows=config.cv.windows, cv_step=config.cv.step, min_train_length=config.cv.min_train_length,
        cv_input_size=config.cv.input_size,
        selection=config.selection.strategy, top_k=config.selection.top_k, levels=list(config.levels),
        nonnegative=True, n_jobs=config.n_jobs,
    )


def _entry(entry: Any) -> dict[str, Any]:
    return {"model": entry} if isinstance(entry, str) else dict(entry)


def split_holdout(series: pd.DataFrame, horizon: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the last ``horizon`` periods of the data (the same calendar dates for every series)."""
    cutoff = np.sort(series[TIME].unique())
    if len(cutoff) <= horizon:
        raise SchemaError(f"the sales history has {len(cutoff)} periods; holding out a horizon of {horizon} leaves none to train on")
    first_holdout = cutoff[-horizon]
    return series[series[TIME] < first_holdout].reset_index(drop=True), series[series[TIME] >= first_holdout].reset_index(drop=True)


def seasonal_naive(train: pd.DataFrame, config: SalesForecastConfig) -> pd.DataFrame:
    """The SeasonalNaive reference forecast of the same horizon (statsforecast, same run)."""
    from statsforecast import StatsForecast
    from statsforecast.models import SeasonalNaive

    sf = StatsForecast(models=[SeasonalNaive(season_length=config.season_length)], freq=config.series.freq, n_jobs=config.n_jobs)
    return sf.forecast(df=train[[ID, TIME, TARGET]], h=config.horizon)


def train(config: SalesForecastConfig | str | Path | None = None, *, force: bool = False, engine: str = "local", **overrides: Any) -> SalesForecastResult:
    """Train, evaluate, log and register the sales forecaster; promote it if it beats the champion.

    Args:
        config: a SalesForecastConfig, a YAML path, or None for ``configs/sales_forecast.yaml``.
        force: promote to @champion even if it does not beat the current champion.
        engine: "local" or "dask" for the statistical models' forecasts.
        overrides: dotted config keys, e.g. ``**{"cv.windows": 4}``.
    """
    from kpredict.scoring.packaging import log_forecaster
    from kpredict.tracking import promote_if_better, register, training_run

    config = load_sales_config(config, **overrides)
    store = open_store(config)
    series, keys = load_history(config, store)
    train_part, holdout = split_holdout(series, config.horizon)
    logger.info("sales history: %d series, %d rows; holdout from %s", series[ID].nunique(), len(series), holdout[TIME].min().date())
    settings = forecaster_settings(config)

    with training_run(
        pipeline=PIPELINE, config=config.model_dump(mode="json"), seed=config.seed,
        inputs={"sales_history": series}, feature_view_hashes={},
    ) as run:
        forecaster = Forecaster(settings, progress=True).fit(train_part, engine=engine)
        future = future_covariates(config, store, holdout)
        forecast = forecaster.predict(train_part, future=future, engine=engine)
        evaluated = holdout[[ID, TIME, TARGET]].merge(forecast, on=[ID, TIME], how="inner")
        baseline = seasonal_naive(train_part, config)
        evaluated = evaluated.merge(baseline, on=[ID, TIME], how="left")
        metrics = {f"holdout_{k}": v for k, v in forecast_metrics(_renamed(evaluated), "yhat", train_part, config.season_length, config.levels).items()}
        metrics |= {f"baseline_holdout_{k}": v for k, v in forecast_metrics(evaluated, "SeasonalNaive", train_part, config.season_length).items()}
        metrics |= {f"timing_{k}": v for k, v in forecaster.timings_.items()}
        metrics["series"] = float(series[ID].nunique())
        run.log_metrics(metrics)
        selection = forecaster.selection_
        run.log_table(selection, "selection/selection.csv")
        run.log_table(forecaster.cv_scores_.reset_index(), "selection/cv_scores.csv")
        run.log_figure(_plot_selection(selection), "plots/model_choice.png")
        run.log_figure(_plot_samples(train_part, evaluated, config), "plots/sample_series.png")

        if forecaster.global_ is not None:
            forecaster.global_.fit(series)  # the stored booster learns from every period, holdout included
        meta = {
            "pipeline": PIPELINE,
            "feature_spec": {"keys": [*config.series.keys, ID, TIME], "numeric": [], "categorical": []},
            "series_keys": config.series.keys,
            "known_future": list(config.global_model.known_future) if config.global_model.enabled else [],
            "replenishment": config.replenishment.model_dump(),
            "horizon": config.horizon,
            "freq": config.series.freq,
        }
        example = series[series[ID].isin(series[ID].unique()[:2])].groupby(ID).tail(3 * config.season_length).reset_index(drop=True)
        model_uri = log_forecaster(forecaster, meta, example, libraries=["statsforecast", "mlforecast", "lightgbm", "pandas", "numpy"])

        gate = config.gate_metric
        version = register(
            run.run_id, model_uri, PIPELINE, metric_name=gate, metric_value=metrics[f"holdout_{gate}"],
            greater_is_better=False, holdout_hash=frame_hash(holdout[[ID, TIME, TARGET]]),
        )
        decision = promote_if_better(PIPELINE, version, force=force)
        logger.info("model version %d: %s", version, decision.reason)
        holdout_frame = evaluated.merge(keys, on=ID, how="left")
        return SalesForecastResult(run.run_id, version, decision.promoted, decision.reason, metrics, selection, holdout_frame)


def _renamed(frame: pd.DataFrame) -> pd.DataFrame:
    """Interval columns in the names forecast_metrics reads (``yhat-lo-80``)."""
    return frame.rename(columns=lambda c: c.replace("yhat_lo_", "yhat-lo-").replace("yhat_hi_", "yhat-hi-"))


def _plot_selection(selection: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = selection.groupby(["model", "demand_class"]).size().unstack(fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values().index[-15:]]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(counts) + 1.5))
    counts.plot.barh(stacked=True, ax=ax)
    ax.set_xlabel("series")
    ax.set_title("Model chosen per series by cross-validation")
    fig.tight_layout()
    return fig


def _plot_samples(train_part: pd.DataFrame, evaluated: pd.DataFrame, config: SalesForecastConfig):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = sorted(evaluated[ID].unique())
    rng = np.random.default_rng(config.seed)
    chosen = sorted(rng.choice(ids, size=min(config.sample_plots, len(ids)), replace=False)) if ids else []
    top = max(config.levels)
    fig, axes = plt.subplots(max(1, len(chosen)), 1, figsize=(10, 2.2 * max(1, len(chosen))), squeeze=False)
    for ax, uid in zip(axes[:, 0], chosen):
        past = train_part[train_part[ID] == uid].tail(4 * config.horizon)
        fut = evaluated[evaluated[ID] == uid]
        ax.plot(past[TIME], past[TARGET], color="0.4", lw=1, label="history")
        ax.plot(fut[TIME], fut[TARGET], color="black", lw=1, label="actual")
        ax.plot(fut[TIME], fut["yhat"], color="tab:blue", lw=1.5, label=f"forecast ({fut['model'].iloc[0]})")
        ax.fill_between(fut[TIME], fut[f"yhat_lo_{top}"], fut[f"yhat_hi_{top}"], color="tab:blue", alpha=0.2, label=f"{top}% interval")
        ax.plot(fut[TIME], fut["SeasonalNaive"], color="tab:orange", lw=1, ls="--", label="SeasonalNaive")
        ax.set_title(uid, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
