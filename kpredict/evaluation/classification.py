"""Binary classification metrics that business decisions read: ranking, calibration and lift.

``lift@k`` is the churn rate among the top k % by score divided by the overall rate; ``recall@k``
is the share of all positives found in that top k %.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["calibration_table", "classification_metrics", "plot_calibration", "plot_roc_pr"]

TOP_FRACTIONS = (0.05, 0.10, 0.20)


def classification_metrics(y_true, probability, *, prefix: str = "", capacity: int | None = None) -> dict[str, float]:
    """ROC-AUC, PR-AUC, Brier, log-loss, and lift / recall in the top 5, 10 and 20 %.

    ``capacity``: also lift and recall among the ``capacity`` highest rows (``lift_at_capacity``,
    ``recall_at_capacity``): how a list worked from the top by a team of that size does.
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y_true, dtype=int)
    p = np.clip(np.asarray(probability, dtype=float), 1e-15, 1 - 1e-15)
    metrics = {
        "roc_auc": roc_auc_score(y, p),
        "pr_auc": average_precision_score(y, p),
        "brier": brier_score_loss(y, p),
        "log_loss": log_loss(y, p, labels=[0, 1]),
        "positive_rate": float(y.mean()),
    }
    order = np.argsort(-p, kind="mergesort")
    positives = max(int(y.sum()), 1)
    for fraction in TOP_FRACTIONS:
        top = order[: max(1, int(round(fraction * len(y))))]
        found = int(y[top].sum())
        label = f"{int(fraction * 100)}"
        metrics[f"lift_at_{label}"] = (found / len(top)) / max(y.mean(), 1e-12)
        metrics[f"recall_at_{label}"] = found / positives
    if capacity is not None:
        top = order[: max(1, min(int(capacity), len(y)))]
        found = int(y[top].sum())
        metrics["lift_at_capacity"] = (found / len(top)) / max(y.mean(), 1e-12)
        metrics["recall_at_capacity"] = found / positives
    return {f"{prefix}{name}": float(value) for name, value in metrics.items()}


def calibration_table(y_true, probability, *, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed rate per quantile bin of the prediction."""
    frame = pd.DataFrame({"y": np.asarray(y_true, dtype=float), "p": np.asarray(probability, dtype=float)})
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    table = frame.groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"), rows=("y", "size"))
    return table.reset_index(drop=True)


def plot_calibration(tables: dict[str, pd.DataFrame]):
    """Reliability diagram: one line per model (name → calibration_table); a Figure, no pyplot."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    top = max(max(t["predicted"].max(), t["observed"].max()) for t in tables.values())
    ax.plot([0, top], [0, top], ls="--", color="grey", label="perfect")
    for name, table in tables.items():
        ax.plot(table["predicted"], table["observed"], marker="o", label=name)
    ax.set(xlabel="predicted probability", ylabel="observed churn rate", title="Calibration (holdout)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_roc_pr(y_true, scores: dict[str, np.ndarray]):
    """ROC and precision-recall curves side by side (name → probabilities); a Figure, no pyplot."""
    from matplotlib.figure import Figure
    from sklearn.metrics import precision_recall_curve, roc_curve

    fig = Figure(figsize=(10, 4.5))
    roc_ax, pr_ax = fig.subplots(1, 2)
    for name, probability in scores.items():
        fpr, tpr, _ = roc_curve(y_true, probability)
        precision, recall, _ = precision_recall_curve(y_true, probability)
        roc_ax.plot(fpr, tpr, label=name)
        pr_ax.plot(recall, precision, label=name)
    roc_ax.plot([0, 1], [0, 1], ls="--", color="grey")
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (holdout)")
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (holdout)")
    roc_ax.legend()
    pr_ax.legend()
    fig.tight_layout()
    return fig
