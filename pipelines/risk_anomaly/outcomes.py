"""Risk alerts against the investigations' verdicts: how many alerts were real anomalies, and how
many of the anomalies the scored window held were alerted."""

from __future__ import annotations

from typing import Any

import numpy as np

from kpredict.errors import DataNotFoundError
from kpredict.reports.scored_outputs import ScoredOutput

__all__ = ["evaluate_outcomes"]


def evaluate_outcomes(stored: ScoredOutput, config: Any) -> dict[str, float]:
    """Alert precision and recall of the stored scores against the labelled anomalies (the
    config's ``labels``: an investigation log, or the demo's truth), and the alerts a day."""
    from sklearn.metrics import average_precision_score

    from kpredict.pipelines.risk_anomaly.train import load_labels

    labels = load_labels(config)
    if labels is None:
        raise DataNotFoundError("the risk config names no labels (labels: null): there are no confirmed anomalies to compare the alerts with")
    scored = stored.table[["txn_id", "anomaly_score", "is_alert", "ts"]].merge(labels[["txn_id", "is_anomaly"]], on="txn_id", how="left")
    known = scored["is_anomaly"].notna()
    if not known.any():
        raise DataNotFoundError(f"none of the {len(scored):,} payments scored as of {stored.as_of.date()} has a verdict in {config.labels.path} yet")
    scored = scored[known]
    truth = scored["is_anomaly"].astype(bool).to_numpy()
    alerted = scored["is_alert"].astype(bool).to_numpy()
    days = max(scored["ts"].dt.normalize().nunique(), 1)
    metrics = {
        "precision_at_budget": float(truth[alerted].mean()) if alerted.any() else float("nan"),
        "recall_at_budget": float(alerted[truth].mean()) if truth.any() else float("nan"),
        "alerts_per_day": float(alerted.sum() / days),
        "anomalies": float(truth.sum()),
        "payments": float(len(scored)),
    }
    if 0 < truth.sum() < len(truth):
        metrics["average_precision"] = float(average_precision_score(truth, scored["anomaly_score"].to_numpy(dtype=np.float64)))
    return metrics
