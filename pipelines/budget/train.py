"""Budget training recipe: weekly spend, KPI and controls → hold out the latest weeks → search
carry-over, saturation and the ridge penalty with optuna on blocks of held-out weeks, then the
same search on block-bootstrapped weeks, the model kept being the one with the refits' median
parameters → evaluate it out of time against OLS on the raw spend (and the ridge against the
monotone LightGBM on the same carry-over and saturation; ``regression`` picks the one stored) →
the same on every week, whose refits also give the intervals → contributions, ROI, marginal ROI,
response curves and charts → publish and gate (holdout NRMSE).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kpredict.pipelines.budget.config import BudgetConfig
from kpredict.pipelines.budget.data import Design, design, load_lift_tests, load_marketing
from kpredict.pipelines.budget.model import BudgetModel, describe_params

from kpredict.errors import SchemaError
from kpredict.hashing import frame_hash
from kpredict.modeling.media import MediaMixModel, lift_experiments
from kpredict.modeling.media_search import MediaSearch, bootstrap_models, median_params
from kpredict.progress import progress_bar
from kpredict.tracking.publish import TrainingResult

__all__ = ["fit_point", "folds", "media_search", "ols_baseline", "regression_metrics", "split_holdout", "train"]

logger = logging.getLogger(__name__)

PIPELINE = "budget"
PREDICTION = "kpi"


def split_holdout(config: BudgetConfig, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows to learn from and rows held out: the latest weeks, or a seeded share of rows without time."""
    index = np.arange(n_rows)
    if config.time_column:
        held = min(config.holdout_weeks, n_rows - 1)
        return index[: n_rows - held], index[n_rows - held :]
    rng = np.random.default_rng(config.search.seed)
    held = rng.permutation(n_rows)[: max(1, round(config.holdout_fraction * n_rows))]
    mask = np.isin(index, held)
    return index[~mask], index[mask]


def folds(config: BudgetConfig, n_rows: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Search folds. Weekly data: contiguous blocks of weeks, each held out once.

    Why blocks rather than only forward-chaining: a week's carry-over is read from its own lag
    columns, so holding out a block in the middle leaks no KPI into the features, and every week
    serves once as unseen data, which separates carry-over rates that forward-chaining on the last
    few quarters cannot (measured on the demo company: see the pipeline's tests).
    """
    from sklearn.model_selection import KFold

    splitter = KFold(config.search.cv_folds) if config.time_column else KFold(config.search.cv_folds, shuffle=True, random_state=config.search.seed)
    return list(splitter.split(np.arange(n_rows)))


def media_search(config: BudgetConfig, d: Design, calibration: dict[str, np.ndarray] | None = None) -> MediaSearch:
    """The optuna search the config describes (``calibration``: measured lifts every fit learns from)."""
    bounds = {c: tuple(config.carryover.decay_by_channel.get(c, config.carryover.decay)) for c in d.channels}
    pairs: list[tuple[str, str]] = []
    if config.interactions == "search":
        pairs = [(a, b) for i, a in enumerate(d.channels) for b in d.channels[i + 1 :]]
    elif isinstance(config.interactions, list):
        pairs = [tuple(p) for p in config.interactions]
    return MediaSearch(
        channels=d.channels, max_lag=d.max_lag, controls=d.controls, decay_bounds=bounds,
        half_saturation_bounds=tuple(config.saturation.half_saturation), slope_bounds=tuple(config.saturation.slope),
        alpha_bounds=tuple(config.search.alpha), candidate_pairs=pairs, n_trials=config.search.n_trials, seed=config.search.seed,
        regression=config.regression, calibration=calibration,
    )


def fit_point(
    config: BudgetConfig, search: MediaSearch, X: pd.DataFrame, y: np.ndarray, best: dict[str, Any], rows: str,
) -> tuple[MediaMixModel, list[MediaMixModel], dict[str, Any]]:
    """The model kept for these rows, its bootstrap refits and its parameters: refitted on the rows
    with the refits' median carry-over and saturation (``median_params`` says why), or with the
    search's ``best`` trial when there are no refits (``bootstrap.n_boot: 0``)."""
    b = config.bootstrap
    block = b.block_weeks if config.time_column else 1
    with progress_bar(f"budget: bootstrap refits {rows}", b.n_boot) as advance:
        refits = bootstrap_models(search, X, y, n_boot=b.n_boot, block=block, n_trials=b.n_trials, n_jobs=b.n_jobs, progress=advance)
    params = median_params(refits) if refits else best
    return search.model(params).fit(X, y), refits, params


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R², MAPE (share) and NRMSE (RMSE over the actual range, as Robyn reports it)."""
    from sklearn.metrics import r2_score

    actual, predicted = np.asarray(actual, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    error = predicted - actual
    spread = float(actual.max() - actual.min()) if len(actual) > 1 else float("nan")
    return {
        "r2": float(r2_score(actual, predicted)) if len(actual) > 1 else float("nan"),
        "mape": float(np.mean(np.abs(error) / np.maximum(np.abs(actual), 1e-12))),
        "nrmse": float(np.sqrt(np.mean(error**2)) / spread) if spread > 0 else float("nan"),
    }


def ols_baseline(d: Design, train_rows: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
    """What an analyst fits first: OLS of the KPI on this week's spend per channel and the controls."""
    from sklearn.linear_model import LinearRegression

    columns = [f"{c}__lag0" for c in d.channels] + d.controls
    model = LinearRegression().fit(d.X.iloc[train_rows][columns], d.y[train_rows])
    return model.predict(d.X.iloc[test_rows][columns])


def _champion_value(champion: Any, d: Design, rows: np.ndarray, metric: str) -> float:
    """The champion's gate metric on the challenger's holdout; NaN when it reads other columns."""
    from kpredict.errors import SchemaError

    try:
        return regression_metrics(d.y[rows], champion.predict(d.X.iloc[rows]))[metric]
    except SchemaError as exc:
        logger.warning("the champion cannot predict the new holdout: %s", exc)
        return float("nan")


def _channel_table(model: BudgetModel, d: Design, frame: pd.DataFrame) -> pd.DataFrame:
    """Per channel: spend, contribution with interval, share, ROI with interval, marginal ROI, fitted shape."""
    spend = frame[d.channels].to_numpy(dtype=np.float64)
    point, low, high = model.contributions(d.X)
    share, share_lo, share_hi = model.contribution_shares(d.X)
    totals = spend.sum(axis=0)
    mean_weekly = spend.mean(axis=0)
    step = max(float(mean_weekly.sum()) * 0.001, 1e-6)
    from kpredict.modeling.allocation import steady_state_effects

    base = steady_state_effects(model.point, mean_weekly)[0]
    bumped = steady_state_effects(model.point, mean_weekly[None, :] + np.eye(len(d.channels)) * step)
    marginal = (bumped.sum(axis=1) - base.sum()) / step
    params = describe_params(model.point)
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({
            "channel": d.channels,
            "spend": totals,
            "spend_share": totals / totals.sum(),
            "contribution": point,
            "contribution_lo": low,
            "contribution_hi": high,
            "contribution_share": share,
            "contribution_share_lo": share_lo,
            "contribution_share_hi": share_hi,
            "roi": point / totals,
            "roi_lo": low / totals,
            "roi_hi": high / totals,
            "marginal_roi": marginal,
            "decay": [params[c]["decay"] for c in d.channels],
            "half_saturation": [params[c]["half_saturation"] for c in d.channels],
            "slope": [params[c]["slope"] for c in d.channels],
        })
    return table


def _log_readings(run: Any, model: BudgetModel, d: Design, frame: pd.DataFrame, config: BudgetConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log the channel table, the contributions per row and the charts in en and zh; return both tables."""
    from kpredict.pipelines.budget.plots import (
        plot_decomposition,
        plot_response_curves,
        plot_roi,
    )

    channels = _channel_table(model, d, frame)
    run.log_table(channels, "budget/channels.csv")
    contributions = model.point.contributions(d.X)
    if config.time_column:
        contributions.insert(0, config.time_column, frame[config.time_column])
    run.log_table(contributions, "budget/contributions.csv")
    labels = {c: config.channel_labels_zh.get(c, c) for c in d.channels}
    spend = frame[d.channels].to_numpy(dtype=np.float64)
    time = frame[config.time_column] if config.time_column else None
    for lang in ("en", "zh"):
        run.log_figure(plot_decomposition(contributions, time, labels, lang), f"plots/decomposition_{lang}.png")
        run.log_figure(plot_response_curves(model, spend, labels, lang), f"plots/response_curves_{lang}.png")
        run.log_figure(plot_roi(channels, labels, lang, model.interval), f"plots/roi_{lang}.png")
    return channels, contributions


def _check_enough_rows(config: BudgetConfig, d: Design, learn: np.ndarray) -> None:
    """Refuse data too short for the search folds and the model's columns."""
    needed = max(4 * config.search.cv_folds, 2 * len(d.channels) + len(d.controls) + 2)
    if len(learn) < needed:
        raise SchemaError(
            f"source {config.source!r} leaves {len(learn)} row(s) to learn from after the holdout; the model needs at least "
            f"{needed} for {len(d.channels)} channels, {len(d.controls)} controls and {config.search.cv_folds} search folds"
        )


def train(config: BudgetConfig | str | Path | None = None, *, force: bool = False, **overrides: Any) -> TrainingResult:
    """Train, evaluate, log and register the budget model; promote it if it beats the champion.

    Args:
        config: a BudgetConfig, a YAML path, or None for ``configs/budget.yaml``.
        force: promote to @champion even if it does not beat the current champion.
        overrides: dotted config keys, e.g. ``**{"search.n_trials": 50}``.
    """
    from kpredict.pipelines.budget import PIPELINE as DESCRIPTOR

    from kpredict.scoring.packaging import PackagedModel
    from kpredict.tracking import training_run
    from kpredict.tracking.publish import Gate, publish

    config = DESCRIPTOR.load_table_config(config, **overrides)
    table = None
    if config.table is not None:
        from kpredict.pipelines.budget.table import open_table

        config, store, table = open_table(config)
    else:
        store = config.open_store()
    frame = load_marketing(config, store)
    origin = frame[config.time_column].min() if config.time_column else None
    d = design(config, frame, origin)
    learn, held = split_holdout(config, len(frame))
    _check_enough_rows(config, d, learn)
    logger.info("budget data: %d rows (%d to learn from, %d held out), %d channels", len(frame), len(learn), len(held), len(d.channels))
    tests = load_lift_tests(config, frame)
    calibration = None
    if tests is not None:
        calibration = lift_experiments(frame[d.channels], tests, d.channels, d.max_lag)
        logger.info("budget: calibrated on %d measured lift(s) (%s)", len(tests), config.lift_tests)
    search = media_search(config, d, calibration)

    with training_run(
        pipeline=PIPELINE, config=config.model_dump(mode="json"), seed=config.search.seed,
        inputs={"marketing": frame, **({"lift_tests": tests} if tests is not None else {})}, feature_view_hashes={},
    ) as run:
        with progress_bar("budget: searching carry-over and saturation", config.search.n_trials) as advance:
            best, study = search.run(d.X.iloc[learn], d.y[learn], folds(config, len(learn)), progress=advance)
        run.log_study(study, prefix="search")
        # the holdout judges the estimator that is stored: refits on the learning weeks, their median parameters
        challenger, _, kept = fit_point(config, search, d.X.iloc[learn], d.y[learn], best, "on the learning weeks")
        metrics = {f"holdout_{k}": v for k, v in regression_metrics(d.y[held], challenger.predict(d.X.iloc[held])).items()}
        metrics |= {f"baseline_holdout_{k}": v for k, v in regression_metrics(d.y[held], ols_baseline(d, learn, held)).items()}
        for regression in ("ridge", "lightgbm"):  # both regressions on the searched carry-over and saturation, side by side
            if regression == config.regression:
                predicted = challenger.predict(d.X.iloc[held])
            elif kept.get("interactions", False):
                continue  # synergy terms need the ridge
            else:
                # the trees cannot learn from measured lifts: the alternative is measured without them
                predicted = search.model(kept).set_params(regression=regression, calibration=None).fit(d.X.iloc[learn], d.y[learn]).predict(d.X.iloc[held])
            metrics |= {f"{regression}_holdout_{k}": v for k, v in regression_metrics(d.y[held], predicted).items()}
        metrics["cv_rmse"] = float(study.best_value)
        metrics["in_sample_r2"] = regression_metrics(d.y[learn], challenger.predict(d.X.iloc[learn]))["r2"]

        # The stored model learns from every row, its carry-over and saturation included: the search
        # runs again on all weeks (on the demo, 156 weeks instead of 143 halve the regret of the split).
        with progress_bar("budget: searching again on every week", config.search.n_trials) as advance:
            best, study = search.run(d.X, d.y, folds(config, len(d.y)), progress=advance)
        run.log_study(study, prefix="search_all_rows")
        metrics["cv_rmse_all_rows"] = float(study.best_value)
        point, refits, _ = fit_point(config, search, d.X, d.y, best, "on every week")
        model = BudgetModel(point, refits, interval=config.bootstrap.interval)
        channels, contributions = _log_readings(run, model, d, frame, config)
        for row in channels.itertuples():
            metrics |= {
                f"{row.channel}_decay": row.decay, f"{row.channel}_roi": row.roi, f"{row.channel}_marginal_roi": row.marginal_roi,
                f"{row.channel}_contribution_share": row.contribution_share,
            }
        metrics["bootstrap_refits"] = float(len(refits))
        tables = {"channels": channels, "contributions": contributions}
        if tests is not None:
            # how well the stored curves explain each experiment: a user checks this before trusting the split
            explained = tests[["channel", "start", "end", "spend_change", "lift", "lift_se"]].copy()
            if config.time_column:
                for column in ("start", "end"):
                    explained[column] = frame[config.time_column].to_numpy()[tests[column].to_numpy()]
            explained["predicted_lift"] = point.predicted_lifts()
            explained["miss_in_se"] = (explained["predicted_lift"] - explained["lift"]) / explained["lift_se"]
            metrics["lift_tests"] = float(len(explained))
            metrics["lift_tests_within_2se"] = float((explained["miss_in_se"].abs() <= 2).sum())
            tables["lift_tests"] = explained
            run.log_table(explained, "lift_tests.json")
        run.log_metrics(metrics)
        labels = {c: config.channel_labels_zh.get(c, c) for c in d.channels}

        meta = {
            "pipeline": PIPELINE,
            "prediction_column": PREDICTION,
            "method": "predict",
            "feature_spec": {"keys": ["channel"], "numeric": list(d.X.columns), "categorical": {}},
            "channels": d.channels,
            "controls": d.controls,
            "max_lag": d.max_lag,
            "time_column": config.time_column,
            "origin": origin.isoformat() if origin is not None else None,
            "allocation": config.allocation.model_dump(),
            "channel_labels_zh": labels,
            # each channel's share of the media's KPI over the training weeks, with its bootstrap interval
            "contribution_shares": {
                row.channel: [row.contribution_share, row.contribution_share_lo, row.contribution_share_hi] for row in channels.itertuples()
            },
        }
        if table is not None:
            meta["table"] = table
        packaged = PackagedModel(
            model, "sklearn", meta, d.X.head(5), outputs=[(PREDICTION, "double"), ("unseen_category", "boolean")],
            libraries=["scikit-learn", "pandas", "numpy"],
        )
        metric = config.gate_metric
        gate = Gate(
            metric, metrics[f"holdout_{metric}"], frame_hash(pd.DataFrame({"row": held, "kpi": d.y[held]})),
            rescore=lambda champion: _champion_value(champion, d, held, metric),
        )
        holdout = pd.DataFrame({"row": held, "actual": d.y[held], "predicted": challenger.predict(d.X.iloc[held])})
        if config.time_column:
            holdout.insert(0, config.time_column, frame[config.time_column].to_numpy()[held])
        return publish(run, packaged, gate, metrics=metrics, force=force, holdout=holdout, tables=tables)
