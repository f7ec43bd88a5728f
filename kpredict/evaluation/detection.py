"""Anomaly-detection metrics for people with an alert budget: what share of the known anomalies
the top ``k`` events catch, overall and per kind, and how clean those alerts are.

``recall_at_budget`` uses a budget equal to the number of known anomalies (the best a detector can
do is then 1.0); ``precision_at_budget`` is the share of those ``k`` events that are anomalies.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["detection_metrics", "event_detection_metrics", "plot_detection"]


def detection_metrics(
    is_anomaly: np.ndarray, score: np.ndarray, *, kinds: np.ndarray | None = None, alerts: np.ndarray | None = None, prefix: str = ""
) -> dict[str, float]:
    """ROC-AUC, average precision, precision and recall at a budget of the anomaly count, per kind.

    Args:
        is_anomaly: known labels (bool).
        score: higher = more anomalous. Ties are broken by position, so the result is deterministic.
        kinds: each row's anomaly kind ("" for normal rows): adds ``recall_at_budget_<kind>``.
        alerts: the rows the alert threshold flagged: adds ``alert_precision`` / ``alert_recall``.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(is_anomaly, dtype=bool)
    s = np.asarray(score, dtype=float)
    metrics: dict[str, float] = {"anomalies": float(y.sum()), "events": float(len(y))}
    if 0 < y.sum() < len(y):
        metrics["roc_auc"] = roc_auc_score(y, s)
        metrics["average_precision"] = average_precision_score(y, s)
    k = int(y.sum())
    flagged = np.zeros(len(y), dtype=bool)
    flagged[np.argsort(-s, kind="stable")[:k]] = True
    if k:
        metrics["recall_at_budget"] = float(flagged[y].mean())
        metrics["precision_at_budget"] = float(y[flagged].mean())
    if kinds is not None:
        kinds = np.asarray(kinds, dtype=object)
        for kind in sorted({str(x) for x in kinds[y]} - {""}):
            metrics[f"recall_at_budget_{kind}"] = float(flagged[kinds == kind].mean())
    if alerts is not None:
        alerts = np.asarray(alerts, dtype=bool)
        metrics["alerts"] = float(alerts.sum())
        metrics["alert_precision"] = float(y[alerts].mean()) if alerts.any() else float("nan")
        metrics["alert_recall"] = float(alerts[y].mean()) if k else float("nan")
    return {f"{prefix}{name}": float(value) for name, value in metrics.items()}


def event_detection_metrics(
    frame: pd.DataFrame,
    *,
    id_col: str,
    score_col: str,
    kind_col: str = "kind",
    onset_kinds: tuple[str, ...] = ("level_shift",),
    within: int = 3,
    alert_col: str | None = None,
    prefix: str = "",
) -> dict[str, float]:
    """Recall of anomaly *events* in time series at a budget of their number, per kind.

    ``frame`` holds one row per scored step, oldest first within each series, with the true kind
    ("" for normal steps). A run of consecutive steps of an ``onset_kind`` (a level shift) is one
    event, caught by an alert on its first ``within + 1`` steps; every other anomalous step is an
    event of its own, caught by an alert on that step. The budget's alerts are the top-``k`` steps
    by score, ``k`` the number of events; precision is the share of them that catch an event.
    """
    kinds = frame[kind_col].fillna("").astype(str).to_numpy()
    ids = frame[id_col].to_numpy()
    position = frame.groupby(id_col, sort=False).cumcount().to_numpy()
    new_run = np.r_[True, (kinds[1:] != kinds[:-1]) | (ids[1:] != ids[:-1]) | (position[1:] != position[:-1] + 1)]
    event_of = np.full(len(frame), -1)
    event_kinds: list[str] = []
    run_event = -1
    for i in np.flatnonzero(kinds != ""):
        if kinds[i] in onset_kinds:
            if new_run[i]:
                run_event = len(event_kinds)
                event_kinds.append(kinds[i])
                start = i
            if position[i] - position[start] <= within:
                event_of[i] = run_event
        else:
            event_of[i] = len(event_kinds)
            event_kinds.append(kinds[i])
    k = len(event_kinds)
    score = np.nan_to_num(frame[score_col].to_numpy(dtype=np.float64), nan=-np.inf)
    metrics: dict[str, float] = {"events": float(k)}

    def caught(flagged: np.ndarray) -> np.ndarray:
        hit = np.zeros(k, dtype=bool)
        hit[np.unique(event_of[flagged & (event_of >= 0)])] = True
        return hit

    if k:
        flagged = np.zeros(len(frame), dtype=bool)
        flagged[np.argsort(-score, kind="stable")[:k]] = True
        hit = caught(flagged)
        metrics["recall_at_budget"] = float(hit.mean())
        metrics["precision_at_budget"] = float((event_of[flagged] >= 0).mean())
        names = np.asarray(event_kinds)
        for kind in sorted(set(event_kinds)):
            metrics[f"recall_at_budget_{kind}"] = float(hit[names == kind].mean())
    if alert_col is not None:
        alerts = frame[alert_col].to_numpy(dtype=bool)
        metrics["alerts"] = float(alerts.sum())
        metrics["alert_precision"] = float((event_of[alerts] >= 0).mean()) if alerts.any() else float("nan")
        metrics["alert_recall"] = float(caught(alerts).mean()) if k else float("nan")
    return {f"{prefix}{name}": float(value) for name, value in metrics.items()}


def plot_detection(is_anomaly: np.ndarray, scores: Mapping[str, np.ndarray], threshold: float | None = None):
    """Precision-recall curves of each detector and the histogram of the first one's scores."""
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve

    y = np.asarray(is_anomaly, dtype=bool)
    fig = Figure(figsize=(10, 4.5))
    pr_ax, hist_ax = fig.subplots(1, 2)
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y, score)
        pr_ax.plot(recall, precision, label=name)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (holdout)")
    pr_ax.legend()
    first = np.asarray(next(iter(scores.values())), dtype=float)
    bins = np.linspace(np.nanmin(first), np.nanmax(first), 50) if len(first) else 10
    hist_ax.hist(first[~y], bins=bins, alpha=0.6, label="normal", log=True)
    hist_ax.hist(first[y], bins=bins, alpha=0.8, label="known anomalies", log=True)
    if threshold is not None:
        hist_ax.axvline(threshold, color="black", ls="--", label="alert threshold")
    hist_ax.set(xlabel=f"score ({next(iter(scores))})", ylabel="events", title="Scores (holdout)")
    hist_ax.legend()
    fig.tight_layout()
    return fig

