"""Sales-forecast training recipe: history → hold out the last horizon → cross-validate candidates
per series → choose → conformal intervals → evaluate against SeasonalNaive → log, register, gate.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError
from kpredict.forecasting import Forecaster, ForecasterSettings, forecast_metrics
from kpredict.forecasting.series import ID, TARGET, TIME
from kpredict.hashing import frame_hash
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig
from kpredict.pipelines.sales_forecast.data import DEMAND_COLUMNS, known_future, load_history, recent_demand
from kpredict.progress import note, progress_bar
from kpredict.tracking.publish import TrainingResult

__all__ = ["SalesHoldout", "evaluate", "forecaster_settings", "train"]

logger = logging.getLogger(__name__)

PIPELINE = "sales_forecast"


@dataclass
class SalesHoldout:
    """The last horizon of the history, what came before it, and its known-future covariates."""

    history: pd.DataFrame
    actuals: pd.DataFrame
    future: pd.DataFrame | None


def forecaster_settings(config: SalesForecastConfig) -> ForecasterSettings:
    """The forecasting engine's settings from the pipeline config."""
    g = config.global_model
    global_model = None
    if g.enabled:
        global_model = {
            "lags": g.lags, "rolling_windows": g.rolling_windows, "lag_rolling": g.lag_rolling, "differences": g.differences,
            "date_features": g.date_features, "known_future": list(g.known_future or []), "num_boost_round": g.num_boost_round,
            "learning_rate": g.learning_rate, "num_leaves": g.num_leaves, "subsample": g.subsample, "colsample": g.colsample,
            "seed": config.seed, "num_threads": config.n_jobs,
        }
    own = {
        "season_length": {"season_length": config.season_length},
        "models": {"models": [_entry(m) for m in config.models]},
        "intermittent_models": {"intermittent_models": [_entry(m) for m in config.intermittent_models]},
        "baselines": {"baselines": [_entry(m) for m in config.baselines]},
        "short_models": {"short_models": [_entry(m) for m in config.short_models]},
        "fallback": {"fallback": _entry(config.fallback)},
        "cv": {"cv_windows": config.cv.windows, "cv_step": config.cv.step, "min_train_length": config.cv.min_train_length,
               "cv_input_size": config.cv.input_size},
        "selection": {"selection": config.selection.strategy, "top_k": config.selection.top_k},
    }
    chosen: dict[str, Any] = {}
    if config.preset is not None:  # the preset fills in what the config file does not set itself
        from kpredict.forecasting.presets import PRESETS

        preset = PRESETS[config.preset]
        for key, values in own.items():
            chosen |= values if key in config.model_fields_set else {name: preset[name] for name in values if name in preset}
    else:
        for values in own.values():
            chosen |= values
    return ForecasterSettings(
        **chosen, freq=config.series.freq, horizon=config.horizon, global_model=global_model, levels=list(config.levels),
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
    """The SeasonalNaive reference forecast of the same horizon (statsforecast, same run); Naive
    where a series is shorter than one season."""
    from statsforecast import StatsForecast
    from statsforecast.models import Naive, SeasonalNaive

    sf = StatsForecast(models=[SeasonalNaive(season_length=config.season_length), Naive()], freq=config.series.freq, n_jobs=config.n_jobs)
    with warnings.catch_warnings():  # a series shorter than a season: handled below
        warnings.filterwarnings("ignore", message=".*shorter than season_length", category=UserWarning)
        out = sf.forecast(df=train[[ID, TIME, TARGET]], h=config.horizon)
    # a series shorter than one season has no seasonal-naive forecast: the naive one stands in
    out["SeasonalNaive"] = out["SeasonalNaive"].fillna(out.pop("Naive"))
    return out


def evaluate(forecaster: Forecaster, holdout: SalesHoldout, *, season_length: int, levels: list[int] | tuple[int, ...] = (), engine: str = "local") -> tuple[pd.DataFrame, dict[str, float]]:
    """Forecast the holdout from the history before it; the joined rows and their metrics.

    The gate scores the challenger and, when the holdouts differ, the champion with it (the
    champion's statistical models are refit on the same history, as at scoring).
    """
    forecast = forecaster.predict(holdout.history, future=holdout.future, engine=engine)
    evaluated = holdout.actuals[[ID, TIME, TARGET]].merge(forecast, on=[ID, TIME], how="inner")
    return evaluated, forecast_metrics(evaluated, "yhat", holdout.history, season_length, levels)


def coverage_by_group(evaluated: pd.DataFrame, selection: pd.DataFrame, levels: list[int]) -> dict[str, float]:
    """Holdout coverage per interval group (regular, intermittent, short): the groups whose widths are
    calibrated apart, so a band that only holds on average across them is seen (``holdout_coverage_80_short``)."""
    group = evaluated[ID].map(selection.set_index(ID)["interval_group"]).fillna("regular")
    y = evaluated[TARGET].to_numpy()
    out: dict[str, float] = {}
    for name in sorted(group.unique()):
        rows = (group == name).to_numpy()
        out[f"holdout_series_{name}"] = float(evaluated.loc[rows, ID].nunique())
        for level in levels:
            inside = (y[rows] >= evaluated[f"yhat_lo_{level}"].to_numpy()[rows]) & (y[rows] <= evaluated[f"yhat_hi_{level}"].to_numpy()[rows])
            out[f"holdout_coverage_{level}_{name}"] = float(inside.mean())
    return out


def _champion_value(champion: Forecaster, holdout: SalesHoldout, rows: int, config: SalesForecastConfig, engine: str) -> float:
    """The champion's gate metric on the challenger's holdout; NaN when it cannot forecast the same rows."""
    try:
        evaluated, metrics = evaluate(champion, holdout, season_length=config.season_length, engine=engine)
    except SchemaError as exc:  # e.g. it wants a known-future covariate this config no longer provides
        logger.warning("the champion cannot forecast the new holdout: %s", exc)
        return float("nan")
    if len(evaluated) != rows:
        logger.warning("the champion forecasts %d of the %d holdout rows; the gate cannot compare them", len(evaluated), rows)
        return float("nan")
    return metrics[config.gate_metric]


def train(config: SalesForecastConfig | str | Path | None = None, *, force: bool = False, engine: str = "local", **overrides: Any) -> TrainingResult:
    """Train, evaluate, log and register the sales forecaster; promote it if it beats the champion.

    Args:
        config: a SalesForecastConfig, a YAML path, or None for ``configs/sales_forecast.yaml``.
        force: promote to @champion even if it does not beat the current champion.
        engine: "local" or "dask" for the statistical models' forecasts.
        overrides: dotted config keys, e.g. ``**{"cv.windows": 4}``.
    """
    from kpredict.monitoring.drift import reference_profile
    from kpredict.forecasting.plots import plot_model_choice, plot_sample_forecasts
    from kpredict.scoring.packaging import PackagedModel
    from kpredict.tracking import training_run
    from kpredict.tracking.publish import Gate, publish

    from kpredict.pipelines.sales_forecast import PIPELINE as DESCRIPTOR

    config = DESCRIPTOR.load_table_config(config, **overrides)
    if config.table is not None:
        from kpredict.pipelines.sales_forecast.table import open_table

        config, store, table = open_table(config)
    else:
        store, table = config.open_store(), None
    wanted = known_future(config, store)
    config = config.model_copy(update={"global_model": config.global_model.model_copy(update={"known_future": wanted})})
    if config.replenishment.inventory_view is None and table is None:  # a table says it with the rest of what it inferred
        note("no stock data (replenishment.inventory_view is null): forecasts and intervals only, no order quantities")
    series, keys = load_history(config, store, wanted=wanted)
    train_part, actuals = split_holdout(series, config.horizon)
    logger.info("sales history: %d series, %d rows; holdout from %s", series[ID].nunique(), len(series), actuals[TIME].min().date())
    settings = forecaster_settings(config)

    with training_run(
        pipeline=PIPELINE, config=config.model_dump(mode="json"), seed=config.seed,
        inputs={"sales_history": series}, feature_view_hashes={},
    ) as run:
        # statsforecast's per-series bars (hundreds of lines in a log) stay off: one display for the stage
        with progress_bar(f"sales_forecast: cross-validating {series[ID].nunique():,} series", None):
            forecaster = Forecaster(settings, progress=False).fit(train_part, engine=engine)
        holdout = SalesHoldout(train_part, actuals, actuals[[ID, TIME, *wanted]] if wanted else None)
        evaluated, scores = evaluate(forecaster, holdout, season_length=config.season_length, levels=config.levels, engine=engine)
        evaluated = evaluated.merge(seasonal_naive(train_part, config), on=[ID, TIME], how="left")
        metrics = {f"holdout_{k}": v for k, v in scores.items()}
        metrics |= {f"baseline_holdout_{k}": v for k, v in forecast_metrics(evaluated, "SeasonalNaive", train_part, config.season_length).items()}
        metrics |= coverage_by_group(evaluated, forecaster.selection_, config.levels)
        metrics |= {f"timing_{k}": v for k, v in forecaster.timings_.items()}
        metrics["series"] = float(series[ID].nunique())
        run.log_metrics(metrics)
        selection = forecaster.selection_
        run.log_table(selection, "selection/selection.csv")
        run.log_table(forecaster.cv_scores_.reset_index(), "selection/cv_scores.csv")
        run.log_figure(plot_model_choice(selection), "plots/model_choice.png")
        ids = sorted(evaluated[ID].unique())
        drawn = sorted(np.random.default_rng(config.seed).choice(ids, size=min(config.sample_plots, len(ids)), replace=False)) if ids else []
        run.log_figure(
            plot_sample_forecasts(train_part, evaluated, drawn, level=max(config.levels), context=4 * config.horizon, baseline="SeasonalNaive"),
            "plots/sample_series.png",
        )

        if forecaster.global_ is not None:
            forecaster.global_.fit(series)  # the stored booster learns from every period, holdout included
        meta = {
            "pipeline": PIPELINE,
            "feature_spec": {"keys": [*config.series.keys, ID, TIME], "numeric": [], "categorical": []},
            "series_keys": config.series.keys,
            "known_future": wanted,
            "replenishment": config.replenishment.model_dump(),
            "horizon": config.horizon,
            "freq": config.series.freq,
            "season_length": config.season_length,
            # input drift: each series' recent demand before the holdout (forecasts follow the season,
            # so their own distribution moving is no sign of a stale model: no score profile)
            "monitoring": reference_profile(recent_demand(train_part, config.horizon), numeric=list(DEMAND_COLUMNS)),
        }
        if table is not None:
            meta["table"] = table
        example = series[series[ID].isin(series[ID].unique()[:2])].groupby(ID).tail(3 * config.season_length).reset_index(drop=True)
        covariates = [c for c in example.columns if c not in (ID, TIME, TARGET)]
        packaged = PackagedModel(
            forecaster, "forecaster", meta, example,
            inputs=[(ID, "string"), (TIME, "datetime"), (TARGET, "double"), *[(name, "double") for name in covariates]],
            outputs=[(ID, "string"), (TIME, "datetime"), ("yhat", "double")]
            + [(f"yhat_{side}_{level}", "double") for level in settings.levels for side in ("lo", "hi")]
            + [("model", "string")],
            libraries=["statsforecast", "mlforecast", "lightgbm", "pandas", "numpy"],
        )
        gate = Gate(
            metric=config.gate_metric, value=metrics[f"holdout_{config.gate_metric}"],
            holdout_hash=frame_hash(actuals[[ID, TIME, TARGET]]),
            rescore=lambda champion: _champion_value(champion, holdout, len(evaluated), config, engine),
        )
        return publish(
            run, packaged, gate, metrics=metrics, force=force,
            holdout=evaluated.merge(keys, on=ID, how="left"), tables={"selection": selection},
        )
