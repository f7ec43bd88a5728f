"""The budget pipeline's registered model: the media model and its bootstrap refits as one
estimator, with the readings every output needs (contributions, response curves, plan effects)
as point values and intervals."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kpredict.modeling.allocation import (
    AllocationProblem,
    plan_effects,
    refit_totals,
    steady_state_effects,
)
from kpredict.modeling.media import MediaMixModel

__all__ = ["BudgetModel"]


class BudgetModel(BaseEstimator):
    """``point``: the media model fitted on every row; ``refits``: its block-bootstrap refits;
    ``interval``: the central share of the refits an interval spans.

    ``predict`` is the point model's, so ``mlflow models predict`` on design rows gives the KPI.
    """

    def __init__(self, point: MediaMixModel, refits: Sequence[MediaMixModel] = (), interval: float = 0.9) -> None:
        self.point = point
        self.refits = refits
        self.interval = interval

    @property
    def channels(self) -> list[str]:
        return list(self.point.channels)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted KPI per design row."""
        return self.point.predict(X)

    def quantiles(self) -> tuple[float, float]:
        half = (1.0 - float(self.interval)) / 2
        return half, 1.0 - half

    def draws(self, reading: Callable[[MediaMixModel], np.ndarray]) -> np.ndarray:
        """``reading`` of every refit, stacked on a first axis (empty without refits)."""
        return np.stack([np.asarray(reading(model), dtype=np.float64) for model in self.refits]) if len(self.refits) else np.empty((0,))

    def spread(self, reading: Callable[[MediaMixModel], np.ndarray], center: str = "point") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``reading`` of the point model (``center="mean"``: its mean over the refits), and its
        interval over the refits (NaN without refits; the point model's reading then)."""
        point = np.asarray(reading(self.point), dtype=np.float64)
        if not len(self.refits):
            nan = np.full_like(point, np.nan)
            return point, nan, nan
        draws = self.draws(reading)
        low, high = np.quantile(draws, self.quantiles(), axis=0)
        return (draws.mean(axis=0) if center == "mean" else point), low, high

    def plan_effects(self, problem: AllocationProblem, weekly: np.ndarray, center: str = "point") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """KPI per plan and channel over the horizon: point (or mean of the refits), low, high."""
        return self.spread(lambda model: plan_effects(model, problem, weekly), center)

    @staticmethod
    def difference_reading(problem: AllocationProblem, weekly: np.ndarray, reference: np.ndarray) -> Callable[[MediaMixModel], np.ndarray]:
        """A reading: KPI of ``weekly`` minus that of ``reference`` per channel, then the total."""

        def reading(model: MediaMixModel) -> np.ndarray:
            diff = plan_effects(model, problem, np.vstack([weekly, reference]))
            per_channel = diff[0] - diff[1]
            return np.append(per_channel, per_channel.sum())

        return reading

    def contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each channel's total KPI over the rows of ``X``: point, low, high."""
        return self.spread(lambda model: model.media_effects(model.lag_array(X)).sum(axis=0))

    def contribution_shares(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each channel's share of the media's total KPI over the rows of ``X``: point, low, high
        (the interval of the share itself over the refits, not a ratio of the contributions' bounds)."""

        def share(model: MediaMixModel) -> np.ndarray:
            total = model.media_effects(model.lag_array(X)).sum(axis=0)
            return total / total.sum() if total.sum() > 0 else np.full(len(total), np.nan)

        return self.spread(share)

    def response_curves(self, spend_grid: np.ndarray, others: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per channel: steady-state weekly KPI from it at each weekly spend of ``spend_grid[:, c]``, the
        other channels at ``others``."""
        curves = {}
        for c, channel in enumerate(self.channels):
            plans = np.repeat(others[None, :], len(spend_grid), axis=0)
            plans[:, c] = spend_grid[:, c]
            curves[channel] = self.spread(lambda model, plans=plans, c=c: steady_state_effects(model, plans)[:, c])
        return curves

    def marginal_roi(self, problem: AllocationProblem, weekly: np.ndarray, step: float | None = None, center: str = "point") -> np.ndarray:
        """Extra KPI per extra unit of spend, per channel, at ``weekly`` (point model, or the mean of
        the refits with ``center="mean"``; forward difference)."""
        step = step if step is not None else max(float(np.sum(weekly)) * 0.001, 1e-6)
        plans = np.repeat(np.asarray(weekly, dtype=np.float64)[None, :], len(weekly) + 1, axis=0)
        plans[1:] += np.eye(len(weekly)) * step
        if center == "mean" and len(self.refits):
            totals = refit_totals(self.refits, problem, plans).mean(axis=0)
        else:
            totals = plan_effects(self.point, problem, plans).sum(axis=1)
        return (totals[1:] - totals[0]) / (step * problem.weeks)


def describe_params(model: MediaMixModel) -> dict[str, Any]:
    """The fitted carry-over, saturation and effect per channel (for logs and tables)."""
    regression = model.regression_
    n = len(model.channels)
    # the KPI a channel adds at full saturation: the ridge's coefficient, or the boosted curve's rise from 0 to 1
    coef = regression.media_effects(np.ones((1, n)))[0] if hasattr(regression, "media_effects") else regression.coef_
    out = {}
    for i, channel in enumerate(model.channels):
        steps = model.channel_steps(channel)
        out[channel] = {
            "decay": float(steps.named_steps["adstock"].decay),
            "half_saturation": float(steps.named_steps["saturation"].half_saturation * steps.named_steps["saturation"].scale_),
            "slope": float(steps.named_steps["saturation"].slope),
            "effect_at_saturation": float(coef[i]),
        }
    return out
