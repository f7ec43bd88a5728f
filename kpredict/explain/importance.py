"""Global importance: how much each feature moves scores on average (mean absolute contribution)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["global_importance"]


def global_importance(contributions: np.ndarray, feature_names: Sequence[str]) -> pd.DataFrame:
    """Mean absolute contribution per feature, largest first (ties keep feature order).

    Args:
        contributions: ``(n_rows, n_features + 1)`` with the base value last (LightGBM
            ``pred_contrib``), or ``(n_rows, n_features)`` without it.
        feature_names: the features, in contribution order.

    Returns:
        Columns ``feature``, ``mean_abs_shap``, ``mean_shap`` (signed mean) and ``share`` (of the total
        mean absolute contribution), one row per feature.

    Raises:
        SchemaError: the number of columns matches neither ``n_features`` nor ``n_features + 1``.
    """
    names = [str(name) for name in feature_names]
    matrix = np.asarray(contributions, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] not in (len(names), len(names) + 1):
        raise SchemaError(
            f"contributions have shape {matrix.shape}, expected (n_rows, {len(names) + 1}) with the base value "
            f"last, or (n_rows, {len(names)}), for {len(names)} feature names"
        )
    shap = matrix[:, : len(names)]
    if shap.shape[0]:
        mean_abs = np.abs(shap).mean(axis=0)
        mean = shap.mean(axis=0)
    else:
        mean_abs = np.zeros(len(names))
        mean = np.zeros(len(names))
    total = mean_abs.sum()
    share = mean_abs / total if total > 0 else np.zeros(len(names))
    order = np.argsort(-mean_abs, kind="stable")
    return pd.DataFrame(
        {
            "feature": np.asarray(names, dtype=object)[order],
            "mean_abs_shap": mean_abs[order],
            "mean_shap": mean[order],
            "share": share[order],
        }
    )
