"""Churn training recipe: labels → point-in-time features → out-of-time split → tune → calibrate →
evaluate against a logistic baseline and serve whichever ranks the validation list better → explain →
publish (log, register, gate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError
from kpredict.features import FeatureStore
from kpredict.features.sources import read_source
from kpredict.hashing import frame_hash
from kpredict.pipelines.churn.config import ChurnConfig
from kpredict.pipelines.churn.labels import ENTITY_TS, build_labels, snapshot_dates
from kpredict.progress import progress_bar
from kpredict.tracking.publish import TrainingResult

__all__ = ["evaluate", "prepare_training_data", "train", "train_from_table"]

logger = logging.getLogger(__name__)

PIPELINE = "churn"
KEYS = ["customer_id"]
PREDICTION = "churn_probability"


@dataclass
class ChurnData:
    """Labelled, featured rows split out of time."""

    frame: pd.DataFrame
    features: list[str]
    train: pd.DataFrame
    valid: pd.DataFrame
    holdout: pd.DataFrame
    store: FeatureStore
    views: list[str]
    table: dict[str, Any] | None = None  # a table-trained model's column typing (see table.table_meta)
    # True for a table without a time column: no validation part; cross-validation of ``train`` tunes
    # and chooses the model, and the fold models serve together.
    cross_validate: bool = False


def history_start(store: FeatureStore, views: list[str], subscriptions: pd.DataFrame) -> pd.Timestamp:
    """When subscriptions and every feature view have data (see FeatureStore.history_start).

    Subscriptions may reach back years before orders and tickets were recorded; snapshots taken
    then would show active customers with no behaviour at all and teach the model that silence
    means loyalty (on the demo company 42 % of the training rows were such).
    """
    start, decided_by = pd.Timestamp(subscriptions["start_date"].min()), "subscriptions"
    first, view = store.history_start(views)
    if first is not None and first > start:
        start, decided_by = first, view
    logger.info("history starts %s (the first data of %s); snapshots begin min_history_days later", start.date(), decided_by)
    return start


def prepare_training_data(config: ChurnConfig) -> ChurnData:
    """Labels at every snapshot, features as of each snapshot, and the out-of-time split
    (or, with ``config.table``, the rows of one labelled table)."""
    if config.table is not None:
        return prepare_table_data(config)
    store = config.open_store()
    subscriptions = read_source(store.repo, "subscriptions", store.data_dir)
    orders = read_source(store.repo, "orders", store.data_dir, columns=["customer_id", "order_ts"])
    start = history_start(store, config.views, subscriptions)
    end = max(orders["order_ts"].max(), subscriptions["start_date"].max(), subscriptions["end_date"].max())
    snapshots = snapshot_dates(
        start, end, frequency=config.label.snapshot_frequency,
        min_history_days=config.label.min_history_days, horizon_days=config.label.horizon_days,
    )
    needed = config.split.validation_snapshots + config.split.holdout_snapshots + 1
    if len(snapshots) < needed:
        raise SchemaError(
            f"only {len(snapshots)} snapshot date(s) have a complete {config.label.horizon_days}-day horizon; "
            f"the split needs at least {needed}. Use more history or fewer validation/holdout snapshots."
        )
    labels = build_labels(subscriptions, orders, snapshots, horizon_days=config.label.horizon_days, definition=config.label.definition)
    logger.info("churn labels: %d rows over %d snapshots, churn rate %.3f", len(labels), len(snapshots), labels["churned"].mean())
    frame = store.training_frame(labels, config.views)
    features = [f for view in config.views for f in store.repo.feature_views[view].feature_names()]
    train, valid, holdout = split_by_dates(frame, config)
    return ChurnData(frame=frame, features=features, train=train, valid=valid, holdout=holdout, store=store, views=list(config.views))


def split_by_dates(frame: pd.DataFrame, config: ChurnConfig) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Out of time: the latest dates are the holdout, the ones before them validation, the rest training."""
    split = config.split
    ordered = sorted(frame[ENTITY_TS].unique())
    needed = split.validation_snapshots + split.holdout_snapshots + 1
    if len(ordered) < needed:
        raise SchemaError(
            f"the rows have {len(ordered)} distinct date(s); the out-of-time split needs at least {needed} "
            f"(split.validation_snapshots {split.validation_snapshots} + split.holdout_snapshots {split.holdout_snapshots} + 1 to train on)"
        )
    holdout_dates = ordered[-split.holdout_snapshots :]
    valid_dates = ordered[-(split.holdout_snapshots + split.validation_snapshots) : -split.holdout_snapshots]
    is_holdout = frame[ENTITY_TS].isin(holdout_dates)
    is_valid = frame[ENTITY_TS].isin(valid_dates)
    is_train = ~is_holdout & ~is_valid
    if split.train_snapshots is not None:
        train_dates = ordered[: -(split.holdout_snapshots + split.validation_snapshots)][-split.train_snapshots :]
        is_train &= frame[ENTITY_TS].isin(train_dates)
        logger.info("training on the latest %d snapshot(s) only: %s to %s", len(train_dates), pd.Timestamp(train_dates[0]).date(), pd.Timestamp(train_dates[-1]).date())
    return frame[is_train], frame[is_valid], frame[is_holdout]


def prepare_table_data(config: ChurnConfig) -> ChurnData:
    """One labelled table through a feature view declared behind the scenes; split out of time when
    the table has a time column, else stratified at random (seed ``model.seed``)."""
    from sklearn.model_selection import train_test_split

    from kpredict.pipelines.churn.table import TABLE_VIEW, infer_schema, prepare_table, read_table, table_labels, table_meta, table_store

    table = config.table
    assert table is not None
    raw = read_table(table.path)
    schema, left_out = infer_schema(raw, table)
    churned = table_labels(raw, table)
    prepared = prepare_table(raw, table, schema)
    store = table_store(prepared, schema, table, config.feature_store_dir)
    labels = prepared[KEYS + [ENTITY_TS]].assign(churned=churned)
    frame = store.training_frame(labels, [TABLE_VIEW])
    features = [item["name"] for item in schema]
    logger.info("churn table %s: %d rows, %d features, churn rate %.3f", table.path, len(frame), len(features), churned.mean())
    if table.time is not None:
        train, valid, holdout = split_by_dates(frame, config)
    else:
        counts = np.bincount(churned, minlength=2)
        if counts.min() < 10:
            raise SchemaError(f"churn table {table.path}: {table.target!r} has {counts[1]} churned and {counts[0]} other rows; each needs at least 10 to split")
        rows = np.arange(len(frame))
        rest, held = train_test_split(rows, test_size=table.holdout_fraction, stratify=churned, random_state=config.model.seed)
        # Rows without an order in time: cross-validation of the rest replaces a validation part, so
        # every row but the holdout trains the served model.
        train, valid, holdout = frame.iloc[np.sort(rest)], frame.iloc[:0], frame.iloc[np.sort(held)]
    return ChurnData(
        frame=frame, features=features, train=train, valid=valid, holdout=holdout, store=store,
        views=[TABLE_VIEW], table=table_meta(table, schema, left_out), cross_validate=table.time is None,
    )


def logistic_baseline(train: pd.DataFrame, features: list[str], config: ChurnConfig):
    """Logistic regression on the same features (a smooth curve per number, one-hot categories): the
    reference every model must beat, and the model that serves when it ranks the list better."""
    return _baseline_model(config).fit(train[features], train["churned"].to_numpy())


def _baseline_model(config: ChurnConfig):
    from kpredict.modeling import LinearClassifier

    return LinearClassifier(random_state=config.model.seed, spline_knots=config.model.baseline_spline_knots)


def out_of_fold_validation(model: Any, train: pd.DataFrame, features: list[str], config: ChurnConfig, capacity: int | None) -> dict[str, float]:
    """The gate metric of LightGBM and of the logistic baseline, each out of fold on the training rows.

    For a table split at random (``ChurnData.cross_validate``): LightGBM's out-of-fold margins come
    from its own tuning, the baseline's from the same number of stratified folds.
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from kpredict.evaluation.classification import classification_metrics

    y = train["churned"].to_numpy()
    folds = StratifiedKFold(len(model.boosters_), shuffle=True, random_state=config.model.seed)
    logistic = cross_val_predict(_baseline_model(config), train[features], y, cv=folds, method="decision_function")
    probabilities = {"lightgbm": model.calibrator_.transform(model.oof_decision_function_), "logistic": 1 / (1 + np.exp(-logistic))}
    return {name: classification_metrics(y, p, capacity=capacity)[config.gate_metric] for name, p in probabilities.items()}


def choose_served(config: ChurnConfig, validation: dict[str, float]) -> str:
    """"lightgbm" or "logistic": the config's choice, or the higher gate metric on the validation snapshots.

    Why validation: the holdout judges the served model against the champion; choosing on it too
    would flatter the figure the gate compares. A tie keeps LightGBM.
    """
    if config.model.serve != "best":
        return config.model.serve
    from kpredict.tracking.publish import METRIC_DIRECTIONS

    better = METRIC_DIRECTIONS.get(config.gate_metric, True)
    lightgbm, logistic = validation["lightgbm"], validation["logistic"]
    wins = logistic > lightgbm if better else logistic < lightgbm
    return "logistic" if wins else "lightgbm"


def decision_threshold(config: ChurnConfig) -> float | None:
    """Probability above which contacting pays off (cost policy); None for the capacity policy."""
    if config.decision.policy == "cost":
        return config.decision.contact_cost / (config.decision.value_saved * config.decision.success_rate)
    return None


def evaluate(estimator: Any, holdout: pd.DataFrame, metric: str, capacity: int | None = None) -> float:
    """A fitted classifier's ``metric`` on labelled holdout rows (NaN when it needs features they lack).

    The gate scores the challenger and, when the holdouts differ, the champion with it.
    """
    from kpredict.evaluation.classification import classification_metrics

    needed = list(estimator.feature_names_in_)
    if any(column not in holdout.columns for column in needed):
        return float("nan")
    probability = estimator.predict_proba(holdout[needed])[:, 1]
    return classification_metrics(holdout["churned"].to_numpy(), probability, capacity=capacity)[metric]


def train(config: ChurnConfig | str | Path | None = None, *, force: bool = False, **overrides: Any) -> TrainingResult:
    """Train, evaluate, log and register the churn model; promote it if it beats the champion.

    Args:
        config: a ChurnConfig, a YAML path, or None for ``configs/churn.yaml``.
        force: promote to @champion even if it does not beat the current champion.
        overrides: dotted config keys, e.g. ``data_dir="..."``, ``**{"model.n_trials": 5}``.
    """
    from kpredict.evaluation.classification import calibration_table, classification_metrics, plot_calibration, plot_roc_pr
    from kpredict.explain import log_global_explanations
    from kpredict.modeling import BoostedClassifier
    from kpredict.pipelines.churn import PIPELINE as DESCRIPTOR
    from kpredict.scoring.packaging import PackagedModel
    from kpredict.monitoring.drift import reference_profile
    from kpredict.scoring.validate import FeatureSpec
    from kpredict.tracking import training_run
    from kpredict.tracking.publish import Gate, publish

    config = DESCRIPTOR.load_config(config, **overrides)
    data = prepare_training_data(config)
    features = data.features
    y_train, y_valid, y_hold = (part["churned"].to_numpy() for part in (data.train, data.valid, data.holdout))
    if data.cross_validate:
        logger.info("split: train %d rows (cross-validated), holdout %d", len(y_train), len(y_hold))
    else:
        logger.info("split: train %d rows, validation %d, holdout %d", len(y_train), len(y_valid), len(y_hold))

    with training_run(
        pipeline=PIPELINE,
        config=config.model_dump(mode="json"),
        seed=config.model.seed,
        inputs={"training_frame": data.frame},
        feature_view_hashes=data.store.view_hashes(data.views),
    ) as run:
        with progress_bar("churn: tuning LightGBM", config.model.n_trials) as advance:
            model = BoostedClassifier(
                n_trials=config.model.n_trials, timeout=config.model.timeout_s, seed=config.model.seed,
                early_stopping_rounds=config.model.early_stopping_rounds, calibration=config.model.calibration,
                imbalance=config.model.imbalance,
            )
            if data.cross_validate:
                model.fit(data.train[features], y_train, progress=advance)
            else:
                model.fit(data.train[features], y_train, X_valid=data.valid[features], y_valid=y_valid, progress=advance)
        baseline = logistic_baseline(data.train, features, config)

        capacity = config.decision.capacity
        candidates = {"lightgbm": model, "logistic": baseline}
        p_hold = {name: m.predict_proba(data.holdout[features])[:, 1] for name, m in candidates.items()}
        p_model, p_base = p_hold["lightgbm"], p_hold["logistic"]
        if data.cross_validate:
            # the same share of the list as the holdout's capacity, on the larger out-of-fold set
            scaled = None if capacity is None else max(1, round(capacity * len(y_train) / len(y_hold)))
            validation = out_of_fold_validation(model, data.train, features, config, scaled)
        else:
            validation = {
                name: classification_metrics(y_valid, m.predict_proba(data.valid[features])[:, 1], capacity=capacity)[config.gate_metric]
                for name, m in candidates.items()
            }
        served = choose_served(config, validation)
        estimator = candidates[served]
        metrics = classification_metrics(y_hold, p_model, prefix="holdout_", capacity=capacity)
        metrics |= classification_metrics(y_hold, p_base, prefix="baseline_holdout_", capacity=capacity)
        metrics |= classification_metrics(y_hold, p_hold[served], prefix="served_holdout_", capacity=capacity)
        metrics |= {f"validation_{k}": v for k, v in model.validation_scores_.items()}
        metrics |= {f"choice_validation_{config.gate_metric}_{name}": value for name, value in validation.items()}
        metrics["served_logistic"] = float(served == "logistic")  # 1: the baseline serves (tag kpredict.served_model)
        run.log_metrics(metrics)
        run.set_tags({"kpredict.served_model": served})
        logger.info("serving %s (validation %s: LightGBM %.4f, logistic %.4f)", served, config.gate_metric, validation["lightgbm"], validation["logistic"])
        run.log_figure(plot_roc_pr(y_hold, {"LightGBM (calibrated)": p_model, "logistic baseline": p_base}), "plots/roc_pr.png")
        tables = {"LightGBM (calibrated)": calibration_table(y_hold, p_model), "logistic baseline": calibration_table(y_hold, p_base)}
        run.log_figure(plot_calibration(tables), "plots/calibration.png")
        run.log_table(tables["LightGBM (calibrated)" if served == "lightgbm" else "logistic baseline"], "tables/calibration_holdout.csv")
        if getattr(model, "study_", None) is not None:
            run.log_study(model.study_, best_params=model.best_params_)
        log_global_explanations(run, estimator.contributions, data.holdout[features], list(estimator.feature_names_in_), data.store.repo.feature_definitions())

        threshold = decision_threshold(config)
        spec = FeatureSpec(keys=KEYS, numeric=[f for f in features if f not in estimator.categories_], categorical=estimator.categories_)
        meta = {
            "pipeline": PIPELINE,
            "prediction_column": PREDICTION,
            "feature_spec": spec.to_dict(),
            "views": data.views,
            "feature_view_hashes": data.store.view_hashes(data.views),
            "label": config.label.model_dump(),
            "risk_bands": config.risk_bands.model_dump(),
            "decision": config.decision.model_dump() | {"threshold": threshold},
            "explain": config.explain.model_dump(),
            # what each scoring run's drift is measured against: the training rows, the holdout's scores
            "monitoring": reference_profile(data.train, numeric=spec.numeric, categorical=list(spec.categorical), scores=p_hold[served]),
        }
        run.set_tags({"kpredict.decision_policy": config.decision.policy})
        meta["served_model"] = served
        if data.table is not None:
            meta["table"] = data.table
            columns = [{"column": item["column"], "feature": item["name"], "used_as": item["dtype"], "reason": ""} for item in data.table["schema"]]
            columns += [{"column": column, "feature": "", "used_as": "left out", "reason": why} for column, why in data.table["left_out"].items()]
            run.log_table(pd.DataFrame(columns), "table/columns.csv")
        packaged = PackagedModel(
            estimator, "classifier" if served == "lightgbm" else "sklearn_classifier", meta, data.holdout[features].head(5),
            outputs=[(PREDICTION, "double"), ("unseen_category", "boolean")],
            libraries=["lightgbm", "scikit-learn", "pandas", "numpy"] if served == "lightgbm" else ["scikit-learn", "pandas", "numpy"],
        )
        holdout = data.holdout[[*KEYS, ENTITY_TS, "churned", *features]]
        gate = Gate(
            metric=config.gate_metric, value=metrics[f"served_holdout_{config.gate_metric}"],
            holdout_hash=frame_hash(holdout[[*KEYS, ENTITY_TS, "churned"]]),
            rescore=lambda champion: evaluate(champion, holdout, config.gate_metric, capacity),
        )
        return publish(run, packaged, gate, metrics=metrics, force=force, holdout=data.holdout.assign(churn_probability=p_hold[served]))


def train_from_table(
    path: str | Path, *, target: str, id: str | None = None, time: str | None = None, positive: str | None = None,
    keep: list[str] | None = None, drop: list[str] | None = None,
    config: ChurnConfig | str | Path | None = None, force: bool = False, **overrides: Any,
) -> TrainingResult:
    """The whole churn pipeline from one labelled table (``kpredict train churn --table ...`` from Python).

    Examples:
        >>> train_from_table("customers.parquet", target="churned", id="customer_id")  # doctest: +SKIP
    """
    table = {"path": str(path), "target": target, "id": id, "time": time, "positive": positive, "keep": keep, "drop": drop}
    return train(config, force=force, table={k: v for k, v in table.items() if v is not None}, **overrides)
