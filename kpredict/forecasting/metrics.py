"""Forecast accuracy as the forecasting competitions define it, per series then averaged.

* MASE: mean |error| over the horizon / in-sample mean |seasonal-naive error| (lag = season
  length, lag 1 when the series is shorter than two seasons) — Hyndman & Koehler 2006, as used
  by the tourism and M4 competitions.
* RMSSE: the same with squared errors, square-rooted (M5).
* sMAPE: 200 · |e| / (|y| + |ŷ|) in percent (M4; a 0/0 point counts 0). MAPE: 100 · |e| / |y|.
* WAPE: Σ|e| / Σ|y| over all series and periods (the business figure: error per unit sold).
* bias: Σ(ŷ − y) / Σ|y| (positive = over-forecast).
* coverage / width of each interval level: share of actuals inside, mean width / mean |y|.
* OWA (M4): the mean of sMAPE and MASE, each relative to Naive2's on the same series, so 1 means
  "as good as the seasonally adjusted naive" and the sets of different difficulty compare.
  Naive2 is the M4 benchmark: a 90 % autocorrelation test at the seasonal lag decides whether a
  series is seasonal; seasonal series are divided by a classical multiplicative decomposition's
  indices, forecast naively and multiplied back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpredict.forecasting.series import ID, TARGET, TIME

__all__ = ["NAIVE2", "forecast_metrics", "naive2_forecast", "naive_scale", "naive_scale_at", "owa", "per_series_errors"]


def _naive_differences(history: pd.DataFrame, season_length: int) -> tuple[pd.DataFrame, np.ndarray]:
    """History sorted by (series, date) and each row's seasonal-naive error (lag 1 for series
    shorter than two seasons; NaN where the lag reaches before the series starts)."""
    values = history[[ID, TIME, TARGET]].sort_values([ID, TIME], kind="stable").reset_index(drop=True)
    y = values[TARGET].to_numpy(dtype=float)
    groups = values.groupby(ID, sort=False)[TARGET]
    lengths = groups.transform("size").to_numpy()
    lag_season = y - groups.shift(season_length).to_numpy(dtype=float)
    lag_one = y - groups.shift(1).to_numpy(dtype=float)
    return values, np.where(lengths > season_length, lag_season, lag_one)


def naive_scale(history: pd.DataFrame, season_length: int, *, squared: bool = False) -> pd.Series:
    """Per series: in-sample mean absolute (or squared) seasonal-naive error; NaN if undefined."""
    values, diff = _naive_differences(history, season_length)
    error = diff**2 if squared else np.abs(diff)
    return pd.Series(error, index=values[ID].to_numpy()).groupby(level=0, sort=True).mean()


def naive_scale_at(history: pd.DataFrame, season_length: int, cutoffs: pd.DataFrame) -> np.ndarray:
    """The MASE scale of each series computed only from its history up to each ``cutoff`` row.

    ``cutoffs`` has ``unique_id`` and ``cutoff`` (a date in the series); CV residuals divided by
    this scale are comparable with future errors divided by the full-history scale.
    """
    values, diff = _naive_differences(history, season_length)
    valid = ~np.isnan(diff)
    keys = values[ID].to_numpy()
    running = pd.Series(np.where(valid, np.abs(diff), 0.0)).groupby(keys, sort=False).cumsum().to_numpy()
    counted = pd.Series(valid.astype(float)).groupby(keys, sort=False).cumsum().to_numpy()
    at = pd.DataFrame({ID: keys, "cutoff": values[TIME].to_numpy(), "scale": np.where(counted > 0, running / np.maximum(counted, 1), np.nan)})
    return cutoffs[[ID, "cutoff"]].merge(at, on=[ID, "cutoff"], how="left")["scale"].to_numpy()


def per_series_errors(
    frame: pd.DataFrame, column: str, scale: pd.Series, scale_sq: pd.Series | None = None
) -> pd.DataFrame:
    """Per series MASE, RMSSE, sMAPE and MAPE of forecast ``column`` against ``y``."""
    y = frame[TARGET].to_numpy(dtype=float)
    f = frame[column].to_numpy(dtype=float)
    err = f - y
    denom = np.abs(y) + np.abs(f)
    parts = pd.DataFrame(
        {
            ID: frame[ID].to_numpy(),
            "abs": np.abs(err),
            "sq": err**2,
            "smape": np.where(denom == 0, 0.0, 200 * np.abs(err) / np.where(denom == 0, 1, denom)),
            "ape": np.where(y == 0, np.nan, 100 * np.abs(err) / np.where(y == 0, 1, np.abs(y))),
        }
    )
    grouped = parts.groupby(ID, sort=True).mean()
    out = pd.DataFrame(index=grouped.index)
    s = scale.reindex(grouped.index)
    out["mase"] = grouped["abs"] / s.where(s > 0)
    if scale_sq is not None:
        sq = scale_sq.reindex(grouped.index)
        out["rmsse"] = np.sqrt(grouped["sq"] / sq.where(sq > 0))
    out["smape"] = grouped["smape"]
    out["mape"] = grouped["ape"]
    return out


def forecast_metrics(
    frame: pd.DataFrame, column: str, history: pd.DataFrame, season_length: int, levels: list[int] | tuple[int, ...] = ()
) -> dict[str, float]:
    """Summary metrics of forecast ``column`` (and its ``<column>_lo_<L>`` / ``<column>_hi_<L>`` intervals,
    the names :meth:`Forecaster.predict` writes) against ``y``.

    ``history`` is what the forecast was made from; it gives the MASE/RMSSE scales.
    """
    scale = naive_scale(history, season_length)
    scale_sq = naive_scale(history, season_length, squared=True)
    per = per_series_errors(frame, column, scale, scale_sq)
    y = frame[TARGET].to_numpy(dtype=float)
    f = frame[column].to_numpy(dtype=float)
    total = np.abs(y).sum()
    metrics = {
        "mase": float(per["mase"].mean()),
        "rmsse": float(per["rmsse"].mean()),
        "smape": float(per["smape"].mean()),
        "mape": float(per["mape"].mean()),
        "wape": float(np.abs(f - y).sum() / total) if total > 0 else float("nan"),
        "bias": float((f - y).sum() / total) if total > 0 else float("nan"),
        "series": int(len(per)),
    }
    for level in levels:
        lo, hi = frame[f"{column}_lo_{level}"].to_numpy(float), frame[f"{column}_hi_{level}"].to_numpy(float)
        metrics[f"coverage_{level}"] = float(np.mean((y >= lo) & (y <= hi)))
        metrics[f"width_{level}"] = float(np.mean(hi - lo) / np.mean(np.abs(y))) if np.mean(np.abs(y)) > 0 else float("nan")
    return metrics


NAIVE2 = "Naive2"


def _is_seasonal(y: np.ndarray, season_length: int) -> bool:
    """M4's test: |autocorrelation at the seasonal lag| above its 90 % limit (Bartlett's variance),
    on series of at least three seasons, with R's default lag range of ``acf``."""
    n = len(y)
    if season_length <= 1 or n < 3 * season_length or season_length > min(n - 1, int(np.floor(10 * np.log10(n)))):
        return False
    centred = y - y.mean()
    denominator = float(centred @ centred)
    if denominator == 0:
        return False
    acf = np.array([centred[:-k] @ centred[k:] for k in range(1, season_length + 1)]) / denominator
    limit = 1.645 / np.sqrt(n) * np.sqrt(1 + 2 * np.sum(acf[:-1] ** 2))
    return bool(abs(acf[-1]) > limit)


def _seasonal_indices(y: np.ndarray, season_length: int) -> np.ndarray:
    """Classical multiplicative decomposition (R's ``decompose``): per position in the season, the
    mean ratio to the centred moving average, normalised to mean 1. Index 0 is the first observation's."""
    m = season_length
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(len(y), np.nan)
    trend[half: len(y) - half] = np.convolve(y, weights, mode="valid")
    ratios = y / trend
    figure = np.array([np.nanmean(ratios[k::m]) for k in range(m)])
    return figure / figure.mean()


def naive2_forecast(history: pd.DataFrame, horizon: int, season_length: int, future_index: pd.MultiIndex) -> pd.DataFrame:
    """The M4 Naive2 benchmark: ``unique_id, ds, Naive2`` for the ``horizon`` periods of ``future_index``.

    Series must be in ``history`` sorted by date (as :func:`prepare_series` returns them);
    ``future_index`` is :meth:`Forecaster.future_index` of that history, so the dates match.
    """
    values = history.sort_values([ID, TIME], kind="stable")
    forecasts = []
    for _, y in values.groupby(ID, sort=True)[TARGET]:
        y = y.to_numpy(dtype=float)
        if _is_seasonal(y, season_length) and np.all(y > 0):
            indices = _seasonal_indices(y, season_length)
            position = np.arange(len(y)) % season_length
            adjusted_last = y[-1] / indices[position[-1]]
            ahead = (len(y) + np.arange(horizon)) % season_length
            forecasts.append(adjusted_last * indices[ahead])
        else:
            forecasts.append(np.full(horizon, y[-1]))
    frame = pd.DataFrame({ID: future_index.get_level_values(ID), TIME: future_index.get_level_values(TIME)})
    frame[NAIVE2] = np.concatenate(forecasts) if forecasts else np.zeros(0)
    return frame


def owa(metrics: dict[str, float], naive2_metrics: dict[str, float]) -> float:
    """M4's overall weighted average: (sMAPE / Naive2's sMAPE + MASE / Naive2's MASE) / 2, both
    averaged over the same series first (``forecast_metrics`` of the forecast and of Naive2)."""
    return 0.5 * (metrics["smape"] / naive2_metrics["smape"] + metrics["mase"] / naive2_metrics["mase"])
