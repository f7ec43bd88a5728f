"""The references a forecasting recipe has to beat, computed on the same series in the same run.

* each of AutoETS, AutoTheta and AutoARIMA alone (statsforecast, the series' season length);
* their fixed mean ("Mean3"): the combination the forecasting literature keeps finding hard to beat;
* M4's Naive2, which OWA is relative to.

:func:`compare` scores kpredict's forecast and every reference with the competition metrics, so
a preset is judged against what a data scientist would write in ten lines of statsforecast.
"""

from __future__ import annotations

import pandas as pd

from kpredict.forecasting.metrics import forecast_metrics, naive2_forecast, owa
from kpredict.forecasting.series import ID, TARGET, TIME

__all__ = ["MEAN3", "SINGLE_MODELS", "compare", "reference_forecasts"]

SINGLE_MODELS = ("AutoETS", "AutoTheta", "AutoARIMA")
MEAN3 = "Mean3"


def reference_forecasts(history: pd.DataFrame, horizon: int, freq: str | int, season_length: int, future_index: pd.MultiIndex,
                        *, n_jobs: int = 1) -> pd.DataFrame:
    """``unique_id, ds`` and one column per reference: the three models, their mean, and Naive2."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive

    models = [AutoETS(season_length=season_length), AutoTheta(season_length=season_length), AutoARIMA(season_length=season_length)]
    out = StatsForecast(models=models, freq=freq, n_jobs=n_jobs, fallback_model=Naive()).forecast(df=history[[ID, TIME, TARGET]], h=horizon)
    out[MEAN3] = out[list(SINGLE_MODELS)].mean(axis=1)
    naive2 = naive2_forecast(history, horizon, season_length, future_index)
    return out.merge(naive2, on=[ID, TIME], how="left")


def compare(test: pd.DataFrame, forecasts: dict[str, tuple[pd.DataFrame, str]], history: pd.DataFrame, season_length: int,
            naive2: tuple[pd.DataFrame, str], levels: tuple[int, ...] = ()) -> pd.DataFrame:
    """One row per method: MASE, sMAPE, OWA (and coverage where the forecast has intervals).

    ``forecasts`` maps a method's name to (frame, column); rows of ``test`` whose ``y`` is NaN
    (a missing day in the competition's test) are left out of every method alike.
    """
    scored = test.dropna(subset=[TARGET])
    naive_frame, naive_column = naive2
    reference = forecast_metrics(scored.merge(naive_frame[[ID, TIME, naive_column]], on=[ID, TIME], how="left"), naive_column, history, season_length)
    rows = {}
    for name, (frame, column) in forecasts.items():
        wanted = [c for c in frame.columns if c == column or any(c == f"{column}_{side}_{level}" for side in ("lo", "hi") for level in levels)]
        joined = scored.merge(frame[[ID, TIME, *wanted]], on=[ID, TIME], how="left")
        if joined[column].isna().any():
            raise ValueError(f"{name} has no forecast for {int(joined[column].isna().sum())} test row(s)")
        own_levels = [level for level in levels if f"{column}_lo_{level}" in joined.columns]
        metrics = forecast_metrics(joined, column, history, season_length, own_levels)
        metrics["owa"] = owa(metrics, reference)
        rows[name] = metrics
    table = pd.DataFrame(rows).T
    keep = ["series", "mase", "smape", "owa"] + [f"coverage_{level}" for level in levels if f"coverage_{level}" in table.columns]
    return table[keep].astype({"series": int}).rename_axis("method")

