"""Charts a forecasting run logs: which model each series chose, and sample series with their forecast.

Built as ``matplotlib.figure.Figure`` objects (no pyplot, no backend switch), like
:mod:`kpredict.explain.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from kpredict.forecasting.series import ID, TARGET, TIME

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["plot_model_choice", "plot_sample_forecasts"]


def plot_model_choice(selection: pd.DataFrame, *, top: int = 15) -> Figure:
    """Series per chosen model, stacked by demand class (the ``top`` most chosen models)."""
    from matplotlib.figure import Figure

    counts = selection.groupby(["model", "demand_class"]).size().unstack(fill_value=0)
    counts = counts.loc[counts.sum(axis=1).sort_values().index[-top:]]
    fig = Figure(figsize=(8, 0.35 * len(counts) + 1.5))
    ax = fig.subplots()
    counts.plot.barh(stacked=True, ax=ax)
    ax.set_xlabel("series")
    ax.set_title("Model chosen per series by cross-validation")
    fig.tight_layout()
    return fig


def plot_sample_forecasts(
    history: pd.DataFrame,
    evaluated: pd.DataFrame,
    ids: Sequence[str],
    *,
    level: int,
    context: int,
    baseline: str | None = None,
) -> Figure:
    """One panel per series: the last ``context`` periods, the actuals, the forecast and its interval.

    Args:
        history: ``unique_id, ds, y`` before the forecast.
        evaluated: ``unique_id, ds, y, yhat, yhat_lo_<level>, yhat_hi_<level>, model`` (+ ``baseline``).
        ids: the series to draw.
        level: the interval drawn.
        baseline: a column of ``evaluated`` drawn dashed for comparison (e.g. SeasonalNaive).
    """
    from matplotlib.figure import Figure

    panels = max(1, len(ids))
    fig = Figure(figsize=(10, 2.2 * panels))
    axes = fig.subplots(panels, 1, squeeze=False)[:, 0]
    for ax, uid in zip(axes, ids):
        past = history[history[ID] == uid].tail(context)
        fut = evaluated[evaluated[ID] == uid]
        ax.plot(past[TIME], past[TARGET], color="0.4", lw=1, label="history")
        ax.plot(fut[TIME], fut[TARGET], color="black", lw=1, label="actual")
        ax.plot(fut[TIME], fut["yhat"], color="tab:blue", lw=1.5, label=f"forecast ({fut['model'].iloc[0]})")
        ax.fill_between(fut[TIME], fut[f"yhat_lo_{level}"], fut[f"yhat_hi_{level}"], color="tab:blue", alpha=0.2, label=f"{level}% interval")
        if baseline is not None:
            ax.plot(fut[TIME], fut[baseline], color="tab:orange", lw=1, ls="--", label=baseline)
        ax.set_title(uid, fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
