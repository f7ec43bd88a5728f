"""Conformal prediction intervals from rolling-origin cross-validation residuals.

Each series has too few CV residuals for its own quantiles, so residuals are pooled across the
series of a demand group after dividing by each series' scale (in-sample seasonal-naive MAE, the
MASE denominator): for horizon step j and level L the half-width is ``q_j(L) × scale_i``, with
``q_j(L)`` the finite-sample conformal quantile of the pooled |scaled residuals| at step j.
Why not model-native intervals: they assume the model is right, and a per-series choice among
several models (or their average) has no native interval at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpredict.forecasting.series import ID, TARGET

__all__ = ["conformal_quantiles", "safe_scale"]


def safe_scale(scale: pd.Series, history: pd.DataFrame) -> pd.Series:
    """The MASE scale, falling back to mean |y| (then 1) where it is zero or undefined."""
    mean_abs = history[TARGET].abs().groupby(history[ID].to_numpy(), sort=True).mean()
    out = scale.reindex(mean_abs.index)
    out = out.where(out > 0, mean_abs)
    return out.where(out > 0, 1.0)


def conformal_quantiles(residuals: pd.DataFrame, scale: pd.Series, horizon: int, levels: list[int]) -> dict[str, list[float]]:
    """Per level, the half-width multipliers for steps 1..horizon.

    Args:
        residuals: ``unique_id``, ``step`` (1-based) and ``error`` (forecast − actual) from CV.
        scale: per-series scale (see :func:`safe_scale`).

    Steps without residuals borrow the nearest earlier step that has some (never narrower than
    it, so widths do not shrink with the horizon).
    """
    scaled = residuals["error"].abs().to_numpy() / scale.reindex(residuals[ID]).to_numpy()
    frame = pd.DataFrame({"step": residuals["step"].to_numpy(), "score": scaled}).dropna()
    out: dict[str, list[float]] = {}
    for level in levels:
        values = []
        previous = np.nan
        for step in range(1, horizon + 1):
            scores = np.sort(frame.loc[frame["step"] == step, "score"].to_numpy())
            if len(scores):
                rank = min(len(scores), int(np.ceil((len(scores) + 1) * level / 100)))
                q = float(scores[rank - 1])
                previous = q if np.isnan(previous) else max(q, previous)
            values.append(previous)
        out[str(level)] = values
    return out
