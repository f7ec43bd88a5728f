"""The monitoring record of a scoring run, logged to MLflow beside the model version that scored.

Each written scoring run gets one MLflow run in the experiment ``kpredict-<pipeline>-monitoring``,
tagged with the model's name, version and training run, holding: rows, alerts (where the pipeline
raises them), the input drift (PSI per feature against the training data, the largest, the features
past the alert level) and the score drift. The same record goes into the output's manifest, so a
job's consumer sees it without MLflow. ``mlflow ui`` then charts each metric across scoring dates.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from kpredict.monitoring.drift import drift

__all__ = ["log_dated_run", "log_monitoring_record", "monitoring_experiment", "monitoring_record"]

logger = logging.getLogger(__name__)


def monitoring_experiment(pipeline: str) -> str:
    """``kpredict-<pipeline>-monitoring``: kept apart from the training runs it would crowd."""
    return f"kpredict-{pipeline}-monitoring"


def monitoring_record(meta: dict[str, Any], result: pd.DataFrame, *, features: pd.DataFrame | None = None) -> dict[str, Any]:
    """Counts and drift of one scoring run (deterministic: no times, same input → same record)."""
    record: dict[str, Any] = {"rows": len(result)}
    if "is_alert" in result.columns:
        record["alerts"] = int(result["is_alert"].fillna(False).astype(bool).sum())
    if "contact" in result.columns:
        record["contacted"] = int(result["contact"].fillna(False).astype(bool).sum())
    profile = meta.get("monitoring")
    if profile is None:
        record["drift"] = None  # a model trained before profiles were kept: counts only
        return record
    column = profile.get("score_column", meta.get("prediction_column"))
    scores = result[column].to_numpy(dtype=float) if column in result.columns else None
    record["drift"] = drift(profile, features, scores)
    return record


def _metric_name(feature: str) -> str:
    return "psi." + re.sub(r"[^0-9A-Za-z_\-. /]", "_", feature)


def log_dated_run(pipeline: str, day: pd.Timestamp, *, run_name: str, tags: dict[str, str], values: dict[str, float],
                  record: dict[str, Any], artifact: str) -> str:
    """One finished MLflow run in ``kpredict-<pipeline>-monitoring``: ``values`` as metrics stepped
    by the date (days since 1970, so ``mlflow ui`` charts runs along the dates), ``record`` as a JSON
    artifact. Returns the run id."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from kpredict.tracking.run import _experiment_id
    from kpredict.tracking.store import configure

    uri = configure()
    client = MlflowClient()
    experiment = _experiment_id(client, uri, monitoring_experiment(pipeline))
    run = client.create_run(experiment, run_name=run_name, tags={"kpredict.pipeline": pipeline, "kpredict.as_of": day.date().isoformat(), **tags})
    millis, step = int(day.value // 1_000_000), int(day.value // 86_400_000_000_000)
    metrics = [Metric(key, float(value), millis, step) for key, value in values.items() if np.isfinite(value)]
    for start in range(0, len(metrics), 900):  # MLflow takes at most 1000 metrics a batch
        client.log_batch(run.info.run_id, metrics=metrics[start : start + 900])
    client.log_dict(run.info.run_id, record, artifact)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def log_monitoring_record(pipeline: str, as_of: pd.Timestamp, bundle: Any, record: dict[str, Any], output: str) -> str:
    """Log ``record`` as an MLflow run linked to the model version; returns the run id."""
    values: dict[str, float] = {"rows": record["rows"]}
    for key in ("alerts", "contacted"):
        if key in record:
            values[key] = record[key]
    found = record.get("drift") or {}
    if found.get("psi_max") is not None:
        values["psi_max"] = found["psi_max"]
        values["drifted_features"] = len(found["drifted"])
        values |= {_metric_name(name): value for name, value in found["feature_psi"].items()}
    if found.get("score_psi") is not None:
        values["score_psi"] = found["score_psi"]
    tags = {
        "kpredict.kind": "monitoring", "kpredict.model_name": bundle.name, "kpredict.model_version": str(bundle.version),
        "kpredict.model_run_id": bundle.run_id, "kpredict.output": output, "kpredict.drifted": ",".join(found.get("drifted", [])) or "-",
    }
    return log_dated_run(pipeline, as_of, run_name=f"score {as_of.date().isoformat()} v{bundle.version}", tags=tags,
                         values=values, record=record, artifact="monitoring.json")
