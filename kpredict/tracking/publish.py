"""Publish a trained model and apply the champion gate: the one tail every training recipe ends with.

``publish`` logs the packaged model to the active run, registers it as ``kpredict-<pipeline>`` and
asks the registry whether it beats ``@champion``. When the champion was judged on another holdout
(a retrain on newer data, the normal monthly job) the champion is loaded through its own packaged
loader and re-scored on the challenger's holdout by the gate's ``rescore``, so both are compared on
the same rows. A pipeline without labels passes a gate whose metric is a label-free criterion it
computes itself, or no metric at all.

The direction of every gate metric lives in :data:`METRIC_DIRECTIONS`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kpredict.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kpredict.scoring.packaging import PackagedModel
    from kpredict.tracking.run import TrainingRun

__all__ = ["METRIC_DIRECTIONS", "Gate", "TrainingResult", "greater_is_better", "publish"]

logger = logging.getLogger(__name__)

#: gate metric -> True when a greater value is better
METRIC_DIRECTIONS: dict[str, bool] = {
    # classification
    "roc_auc": True,
    "pr_auc": True,
    "log_loss": False,
    "brier": False,
    "recall_at_capacity": True,
    "lift_at_capacity": True,
    # forecasting
    "mase": False,
    "rmsse": False,
    "wape": False,
    "smape": False,
    "mape": False,
    # regression
    "r2": True,
    "nrmse": False,
    "rmse": False,
    "mae": False,
    # detection (labels where they exist, or a label-free criterion the pipeline computes)
    "average_precision": True,
    "precision_at_budget": True,
    "recall_at_budget": True,
    "stability": True,
    "alert_budget_error": False,
}


def greater_is_better(metric: str) -> bool:
    """Direction of a gate metric.

    Raises:
        ConfigError: the metric is not in :data:`METRIC_DIRECTIONS`.
    """
    try:
        return METRIC_DIRECTIONS[metric]
    except KeyError:
        raise ConfigError(
            f"The gate metric must be one of {sorted(METRIC_DIRECTIONS)}; got {metric!r}. "
            "Add a new metric with its direction to kpredict.tracking.publish.METRIC_DIRECTIONS."
        ) from None


@dataclass(frozen=True)
class Gate:
    """How a challenger is compared with the champion.

    Attributes:
        metric: the gate metric (a key of :data:`METRIC_DIRECTIONS`), or None for a model with no
            criterion (registered; champion only when there is none, or when forced).
        value: the challenger's value of ``metric`` on its holdout.
        holdout_hash: full-data hash of that holdout; equal hashes compare registered values.
        rescore: the champion's value of ``metric`` on the challenger's holdout, given the champion
            loaded through its packaged loader. Called only when the holdouts differ.
    """

    metric: str | None
    value: float | None = None
    holdout_hash: str | None = None
    rescore: Callable[[Any], float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.metric is not None:
            greater_is_better(self.metric)


@dataclass
class TrainingResult:
    """What one training run produced (all of it also in the MLflow run).

    ``holdout`` holds the holdout rows with the model's predictions; ``tables`` any other frame a
    caller may want (the forecaster's per-series choice, for instance).
    """

    pipeline: str
    run_id: str
    model_version: int
    promoted: bool
    promotion_reason: str
    metrics: dict[str, float]
    holdout: pd.DataFrame | None = field(default=None, repr=False)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)


def publish(
    run: TrainingRun,
    model: PackagedModel,
    gate: Gate,
    *,
    metrics: dict[str, float],
    force: bool = False,
    holdout: pd.DataFrame | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> TrainingResult:
    """Log ``model`` to ``run``, register it, apply ``gate``; the training result.

    Args:
        run: the training run (from :func:`kpredict.tracking.training_run`).
        model: the fitted model with its kind, metadata and input example.
        gate: the metric, the challenger's value, its holdout hash and the champion re-scorer.
        metrics: everything the training measured (returned in the result).
        force: promote whatever the gate says.
        holdout, tables: frames handed back to the caller in the result.

    Raises:
        ValueError: the gate has a metric but a non-finite value.
    """
    from kpredict.scoring.packaging import log_model
    from kpredict.tracking.registry import promote_if_better, register

    model_uri = log_model(model)
    direction = greater_is_better(gate.metric) if gate.metric is not None else True
    version = register(
        run.run_id, model_uri, run.pipeline, metric_name=gate.metric, metric_value=gate.value,
        greater_is_better=direction, holdout_hash=gate.holdout_hash,
    )
    evaluate = _champion_rescorer(gate) if gate.rescore is not None else None
    decision = promote_if_better(run.pipeline, version, force=force, evaluate_champion=evaluate)
    logger.info("%s model version %d: %s", run.pipeline, version, decision.reason)
    run.set_tags({"kpredict.model_version": version, "kpredict.promoted": decision.promoted})
    return TrainingResult(
        run.pipeline, run.run_id, version, decision.promoted, decision.reason, dict(metrics), holdout, dict(tables or {})
    )


def _champion_rescorer(gate: Gate) -> Callable[[str], float]:
    """Load the champion from its URI through its own packaged loader and re-score it."""

    def evaluate(uri: str) -> float:
        import mlflow

        from kpredict.scoring.packaging import load_packaged_directory

        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
        estimator = load_packaged_directory(local)
        value = float(gate.rescore(estimator))  # type: ignore[misc]
        logger.info("champion %s re-scored on the new holdout: %s %s", uri, gate.metric, value if math.isfinite(value) else "not finite")
        return value

    return evaluate
