"""``kpredict evaluate <pipeline> --as-of PAST``: the predictions made then against what happened since.

It reads the scoring output stored for that date (what the job wrote, found by its manifest), lets
the pipeline's ``outcomes.py`` compute the realized metrics once the outcomes are in the data
(churn 30 days later, the sales of the forecast days, ...), compares the config's
``monitoring.metric`` with its threshold, logs the evaluation to MLflow beside the model version
that scored, and writes ``evaluate_<pipeline>_<date>.json``. A stale model is reported with exit
code 6, so a schedule can retrain on it (``kpredict evaluate ... || kpredict train ...``) and the
gate decides whether the new model serves.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, DataNotFoundError
from kpredict.io import atomic_path

__all__ = ["Evaluation", "evaluate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """The realized metrics of one scoring date and the verdict on the model that scored it."""

    pipeline: str
    as_of: str
    model_version: str
    metrics: dict[str, float]
    metric: str
    threshold: float
    stale: bool
    path: Path
    run_id: str | None = None

    @property
    def value(self) -> float:
        return self.metrics[self.metric]


def evaluate(pipeline: str, as_of: str | pd.Timestamp, *, source_dir: str | Path = "output", output_dir: str | Path | None = None,
             config: Any = None, log: bool = True, **overrides: Any) -> Evaluation:
    """Compare the predictions stored for ``as_of`` with the outcomes; see the module docstring.

    ``overrides``: dotted config keys, e.g. ``outcomes="later.csv"`` for churn trained from a table.

    Raises:
        ConfigError: the pipeline cannot be evaluated, or its monitoring metric is not one its
            evaluation reports.
        DataNotFoundError: no stored predictions for that date, or the outcomes have not arrived.
    """
    from kpredict.tracking.publish import greater_is_better
    from kpredict.pipeline import get_pipeline, resolve
    from kpredict.reports.scored_outputs import find_scored_output

    descriptor = get_pipeline(pipeline, needs="outcomes")
    settings = descriptor.load_config(config, **overrides)
    day = pd.Timestamp(as_of).normalize()
    stored = find_scored_output(source_dir, pipeline, day)
    if stored is None:
        raise DataNotFoundError(
            f"no stored {pipeline} predictions as of {day.date()} in {source_dir}: evaluate compares what was scored that day "
            f"with what happened since (score it that day with 'kpredict score {pipeline} --as-of {day.date()}' or run-jobs)"
        )
    metrics = {k: float(v) for k, v in resolve(descriptor.outcomes)(stored, settings).items()}
    rule = settings.monitoring
    if rule.metric not in metrics:
        raise ConfigError(f"monitoring.metric {rule.metric!r} is not one the {pipeline} evaluation reports: {sorted(metrics)}")
    value = metrics[rule.metric]
    stale = bool(np.isfinite(value) and (value < rule.threshold if greater_is_better(rule.metric) else value > rule.threshold))
    folder = Path(output_dir) if output_dir is not None else Path(source_dir)
    path = folder / f"evaluate_{pipeline}_{day.date().isoformat()}.json"
    record = {
        "pipeline": pipeline, "as_of": day.date().isoformat(), "model_version": stored.model_version, "model_run_id": stored.run_id,
        "predictions": str(stored.source), "metrics": metrics, "metric": rule.metric, "threshold": rule.threshold, "stale": stale,
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    run_id = _log(pipeline, day, stored, record) if log else None
    if stale:
        logger.warning("%s model version %s is stale: realized %s %.4f is worse than the threshold %.4f",
                       pipeline, stored.model_version, rule.metric, value, rule.threshold)
    return Evaluation(pipeline, record["as_of"], stored.model_version, metrics, rule.metric, rule.threshold, stale, path, run_id)


def _log(pipeline: str, day: pd.Timestamp, stored: Any, record: dict[str, Any]) -> str:
    """One MLflow run in the monitoring experiment, tagged with the model version that scored."""
    from kpredict.monitoring.record import log_dated_run
    from kpredict.tracking.registry import model_name

    tags = {
        "kpredict.kind": "evaluation", "kpredict.model_name": model_name(pipeline), "kpredict.model_version": stored.model_version,
        "kpredict.model_run_id": stored.run_id or "", "kpredict.stale": str(record["stale"]).lower(),
    }
    values = {f"realized_{k}": v for k, v in record["metrics"].items()}
    return log_dated_run(pipeline, day, run_name=f"evaluate {record['as_of']} v{stored.model_version}", tags=tags,
                         values=values, record=record, artifact="evaluation.json")
