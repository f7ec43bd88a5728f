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
        residuals: ``unique_id``, ``step`` (1-based) and ``error`` (forecast − actual) from CV,
            optionally ``scale``: the series' scale as known at that CV cut-off (preferred: a
            series whose volatility grew would otherwise get intervals from its calmer past).
        scale: per-series scale (see :func:`safe_scale`), used where a row has no own scale.

    Steps without residuals borrow the nearest earlier step that has some (never narrower than
    it, so widths do not shrink with the horizon).
    """
    row_scale = scale.reindex(residuals[ID]).to_numpy()
    if "scale" in residuals.columns:
        own = residuals["scale"].to_numpy(dtype=float)
        row_scale = np.where(np.isfinite(own) & (own > 0), own, row_scale)
    scaled = residuals["error"].abs().to_numpy() / row_scale
    frame = pd.DataFrame({"step": residuals["step"].to_numpy(), "score": scaled}).dropna()
    counts = frame.groupby("step").size().reindex(range(1, horizon + 1), fill_value=0).to_numpy()
    out: dict[str, list[float]] = {}
    for level in levels:
        raw = np.full(horizon, np.nan)
        for step in range(1, horizon + 1):
            scores = np.sort(frame.loc[frame["step"] == step, "score"].to_numpy())
            if len(scores):
                rank = min(len(scores), int(np.ceil((len(scores) + 1) * level / 100)))
                raw[step - 1] = scores[rank - 1]
        out[str(level)] = _non_decreasing(raw, counts)
    return out


def _non_decreasing(values: np.ndarray, weights: np.ndarray) -> list[float]:
    """Widths that never shrink with the horizon: isotonic fit over the steps (weighted by their
    residual counts), so one noisy step neither narrows the next nor, as a running maximum would,
    widens every later one. Steps without residuals take the fitted width of the step before."""
    from sklearn.isotonic import IsotonicRegression

    known = ~np.isnan(values)
    if not known.any():
        return [float("nan")] * len(values)
    steps = np.arange(len(values))
    fitted = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(steps[known], values[known], sample_weight=weights[known]).predict(steps)
    return [float(v) for v in np.maximum.accumulate(fitted)]
