"""Risk-anomaly training recipe: payments → features as of each payment → calibrate the detector on
the training period → alert threshold from the alert budget → evaluate on the latest days (against
known anomalies where there are labels, and against a plain IsolationForest on the raw columns);
KPI series → the causal detector learnt on the older days, evaluated on the latest year (kpi.py) →
publish both as one model (log, register, gate: the payments' average precision where labels
exist, otherwise how closely the holdout's alerts keep the alert budget).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import DataNotFoundError, SchemaError
from kpredict.hashing import frame_hash
from kpredict.pipelines.risk_anomaly.config import RiskAnomalyConfig
from kpredict.pipelines.risk_anomaly.events import ASPECTS, FEATURES, KEYS, LOW_TAIL, event_features, load_events, read_events
from kpredict.pipelines.risk_anomaly.model import RiskDetectors, event_scorer
from kpredict.tracking.publish import TrainingResult

__all__ = ["alert_budget_error", "alert_threshold", "evaluate", "raw_column_baseline", "severity_cutoffs", "train"]

logger = logging.getLogger(__name__)

PIPELINE = "risk_anomaly"
PREDICTION = "anomaly_score"
#: days before the holdout whose events calibrate the score (behaviour drifts: the recent past)
REFERENCE_DAYS = 60


def load_labels(config: RiskAnomalyConfig) -> pd.DataFrame | None:
    """Known anomalies: ``id, is_anomaly, kind`` (None when the config names no labels)."""
    if config.labels is None:
        return None
    spec = config.labels
    path = Path(config.data_dir) / spec.path
    if not path.is_file():
        raise DataNotFoundError(f"labels file {path} does not exist; set labels: null in the config when there are none")
    columns = [spec.id_column, spec.label_column, *([spec.kind_column] if spec.kind_column else [])]
    labels = pd.read_parquet(path)
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise SchemaError(f"labels file {path.name} lacks column(s) {missing}; it has {list(labels.columns)}")
    out = pd.DataFrame({"txn_id": labels[spec.id_column], "is_anomaly": labels[spec.label_column].astype(bool)})
    out["kind"] = labels[spec.kind_column].fillna("").astype(str) if spec.kind_column else np.where(out["is_anomaly"], "anomaly", "")
    return out


def alert_threshold(config: RiskAnomalyConfig, events_per_day: float) -> float:
    """The 0..1 score above which an event is an alert, from the alert budget."""
    budget = config.alerts
    if budget.quantile is not None:
        return float(budget.quantile)
    share = budget.per_1000 / 1000 if budget.per_1000 is not None else budget.per_day / max(events_per_day, 1e-9)
    return float(np.clip(1.0 - share, 0.0, 1.0))


def severity_cutoffs(threshold: float) -> dict[str, float]:
    """Score cut-offs of the bands: critical = the top tenth of the alert range, medium = 5x the alert share."""
    share = 1.0 - threshold
    return {"critical": 1.0 - share / 10, "high": threshold, "medium": max(0.0, 1.0 - 5 * share)}


def raw_column_baseline(train_events: pd.DataFrame, holdout_events: pd.DataFrame, seed: int) -> np.ndarray:
    """What a user would try first: IsolationForest on the raw columns (amount, hour, coded categories)."""
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import OrdinalEncoder

    categorical = ["country", "channel", "merchant_category"]
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(train_events[categorical])

    def matrix(frame: pd.DataFrame) -> np.ndarray:
        return np.column_stack([frame["amount"].to_numpy(), frame["hour_of_day"].to_numpy(), encoder.transform(frame[categorical])])

    forest = IsolationForest(n_estimators=200, random_state=seed).fit(matrix(train_events))
    return -forest.score_samples(matrix(holdout_events))


def evaluate(estimator: Any, holdout: pd.DataFrame, threshold: float | None = None, prefix: str = "", raw: np.ndarray | None = None) -> dict[str, float]:
    """Detection metrics of a fitted scorer on labelled holdout events (the gate re-scores the champion with it).

    ``raw``: the holdout's raw scores when the caller has them already.
    """
    from kpredict.evaluation.detection import detection_metrics

    scorer = event_scorer(estimator)
    if raw is None:
        raw = scorer.raw_score(holdout)  # the scorer picks the features it was trained on, by name
    alerts = scorer.calibrate(raw) >= threshold if threshold is not None else None
    return detection_metrics(holdout["is_anomaly"].to_numpy(), raw, kinds=holdout["kind"].to_numpy(), alerts=alerts, prefix=prefix)


def _champion_value(champion: Any, holdout: pd.DataFrame) -> float:
    """The champion's average precision on the challenger's holdout; NaN when it needs features the holdout lacks."""
    try:
        return evaluate(champion, holdout)["average_precision"]
    except SchemaError as exc:
        logger.warning("the champion cannot score the new holdout: %s", exc)
        return float("nan")


def alert_budget_error(scores: np.ndarray, threshold: float) -> float:
    """How far the alerts on unseen events miss the budget: ``|alerts - promised| / promised``.

    The label-free gate criterion: without known anomalies a detector can still be judged on
    its promise, that people get the number of alerts they said they can investigate.
    """
    promised = max((1.0 - threshold) * len(scores), 1e-9)
    return float(abs((np.asarray(scores) >= threshold).sum() - promised) / promised)


def _champion_budget_error(champion: Any, holdout: pd.DataFrame) -> float:
    """The champion's budget error on the challenger's holdout (NaN for a champion that does not
    carry its alert threshold, or cannot score the holdout)."""
    threshold = getattr(champion, "alert_threshold", None)
    if threshold is None:
        return float("nan")
    try:
        return alert_budget_error(event_scorer(champion).score_samples(holdout[FEATURES]), threshold)
    except SchemaError as exc:
        logger.warning("the champion cannot score the new holdout: %s", exc)
        return float("nan")


def _loggable(config: RiskAnomalyConfig) -> dict[str, Any]:
    """The config as logged: channel URLs reduced to their scheme (a token may sit in one)."""
    data = config.model_dump(mode="json")
    data["delivery"]["channels"] = {name: url.split("://", 1)[0] + "://***" for name, url in config.delivery.channels.items()}
    return data


def train(config: RiskAnomalyConfig | str | Path | None = None, *, force: bool = False, **overrides: Any) -> TrainingResult:
    """Train, evaluate, log and register the transaction detector; promote it if it beats the champion.

    Args:
        config: a RiskAnomalyConfig, a YAML path, or None for ``configs/risk_anomaly.yaml``.
        force: promote to @champion even if it does not beat the current champion.
        overrides: dotted config keys, e.g. ``**{"alerts.per_day": 10}``.
    """
    from kpredict.evaluation.detection import detection_metrics, plot_detection
    from kpredict.monitoring.drift import reference_profile
    from kpredict.modeling.anomaly import AnomalyScorer
    from kpredict.pipelines.risk_anomaly import PIPELINE as DESCRIPTOR
    from kpredict.scoring.packaging import PackagedModel
    from kpredict.tracking import training_run
    from kpredict.tracking.publish import Gate, publish

    config = DESCRIPTOR.load_table_config(config, **overrides)
    table = None
    if config.table is not None:
        from kpredict.pipelines.risk_anomaly.table import open_table

        config, store, table = open_table(config)
    else:
        store = config.open_store()
    source = read_events(config, store)
    events = load_events(config, store, source=source)
    if events.empty:
        raise DataNotFoundError(f"source {config.source!r} has no events")
    first, end = events["ts"].min().normalize(), events["ts"].max().normalize() + pd.Timedelta(days=1)
    holdout_start = end - pd.Timedelta(days=config.holdout_days)
    train_start = max(first + pd.Timedelta(days=config.warmup_days), holdout_start - pd.Timedelta(days=config.train_days))
    events = events[events["ts"] >= train_start].reset_index(drop=True)  # older events only serve as history
    frame = event_features(config, store, events, source=source)
    del source
    labels = load_labels(config)
    if labels is not None:
        frame = frame.merge(labels, on="txn_id", how="left", validate="one_to_one")
        frame["is_anomaly"] = frame["is_anomaly"].fillna(False).astype(bool)
        frame["kind"] = frame["kind"].fillna("")
    ts = pd.to_datetime(frame["ts"])
    in_train = ((ts >= train_start) & (ts < holdout_start)).to_numpy()
    in_holdout = (ts >= holdout_start).to_numpy()
    if in_train.sum() < 1000 or not in_holdout.any():
        raise SchemaError(
            f"the events leave {int(in_train.sum())} training and {int(in_holdout.sum())} holdout event(s); "
            "the detector needs at least 1,000 and some: use more history or fewer warmup_days / holdout_days"
        )
    reference_from = max(train_start, holdout_start - pd.Timedelta(days=REFERENCE_DAYS))
    in_reference = in_train & (ts >= reference_from).to_numpy()
    train_part, holdout, reference = frame[in_train], frame[in_holdout], frame[in_reference]
    events_per_day = in_reference.sum() / max((holdout_start - reference_from).days, 1)
    logger.info("risk events: train %d, reference %d (%.0f a day), holdout %d", len(train_part), len(reference), events_per_day, len(holdout))

    with training_run(
        pipeline=PIPELINE, config=_loggable(config), seed=config.detector.seed,
        inputs={"events": frame[[*KEYS, *FEATURES]]}, feature_view_hashes=store.view_hashes(config.views),
    ) as run:
        d = config.detector
        model = AnomalyScorer(
            method=d.method, aspects=ASPECTS, low_tail=LOW_TAIL, reference_rows=d.reference_rows,
            n_estimators=d.n_estimators, max_samples=d.max_samples, random_state=d.seed, n_jobs=d.n_jobs,
        ).fit(train_part[FEATURES], X_reference=reference[FEATURES])
        threshold = alert_threshold(config, events_per_day)
        holdout_raw = model.raw_score(holdout[FEATURES])
        holdout_scores = model.calibrate(holdout_raw)
        alerts_per_day = float((holdout_scores >= threshold).sum() / config.holdout_days)
        metrics = {
            "alert_threshold": threshold, "holdout_alerts_per_day": alerts_per_day, "events_per_day": float(events_per_day),
            "holdout_alert_budget_error": alert_budget_error(holdout_scores, threshold),
        }
        gate = Gate(
            "alert_budget_error", metrics["holdout_alert_budget_error"], frame_hash(holdout[["txn_id"]]),
            rescore=lambda champion: _champion_budget_error(champion, holdout),
        )
        if labels is not None:
            metrics |= evaluate(model, holdout, threshold, prefix="holdout_", raw=holdout_raw)
            raw_events = events.set_index("txn_id")
            baseline = raw_column_baseline(raw_events.loc[train_part["txn_id"]], raw_events.loc[holdout["txn_id"]], d.seed)
            metrics |= detection_metrics(holdout["is_anomaly"].to_numpy(), baseline, kinds=holdout["kind"].to_numpy(), prefix="baseline_holdout_")
            run.log_figure(
                plot_detection(holdout["is_anomaly"].to_numpy(), {"kpredict": holdout_raw, "IsolationForest, raw columns": baseline}),
                "plots/precision_recall.png",
            )
            if "holdout_average_precision" in metrics:
                gate = Gate(
                    "average_precision", metrics["holdout_average_precision"], frame_hash(holdout[["txn_id", "is_anomaly"]]),
                    rescore=lambda champion: _champion_value(champion, holdout),
                )
            else:
                logger.warning("the holdout holds no known anomaly (or only anomalies); the gate compares how well the alert budget holds")
        kpi, tables = None, {}
        if config.kpi is not None:
            from kpredict.pipelines.risk_anomaly.kpi import fit_and_evaluate, plot_kpi

            kpi, kpi_metrics, evaluated = fit_and_evaluate(config, store)
            metrics |= kpi_metrics
            tables["kpi_evaluated"] = evaluated
            run.log_figure(plot_kpi(evaluated, config.kpi), "plots/kpi_alerts.png")
        run.log_metrics(metrics)
        meta = {
            "pipeline": PIPELINE,
            "prediction_column": PREDICTION,
            "method": "score_samples",
            "feature_spec": {"keys": KEYS, "numeric": FEATURES, "categorical": {}},
            "views": config.views,
            "feature_view_hashes": store.view_hashes(config.views),
            "alert_threshold": threshold,
            "severity": severity_cutoffs(threshold),
            "alerts": config.alerts.model_dump(),
            "reasons": config.reasons,
            "explain": {"top_fraction": 1.0 - threshold},
            # drift is measured against the recent training events the scores are calibrated on
            "monitoring": reference_profile(reference, numeric=FEATURES, scores=holdout_scores),
        }
        if table is not None:
            meta["table"] = table
        if kpi is not None:
            kpi_threshold = metrics["kpi_alert_threshold"]
            meta["kpi"] = {"alert_threshold": kpi_threshold, "severity": severity_cutoffs(kpi_threshold), "source": config.kpi.source}
        packaged = PackagedModel(
            RiskDetectors(model, kpi, alert_threshold=threshold), "sklearn", meta, holdout.head(5),
            outputs=[(PREDICTION, "double"), ("unseen_category", "boolean")], libraries=["scikit-learn", "pandas", "numpy"],
        )
        return publish(run, packaged, gate, metrics=metrics, force=force, holdout=holdout.assign(anomaly_score=holdout_scores), tables=tables)
