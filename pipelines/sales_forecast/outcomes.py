"""Sales forecasts against the sales that came: realized MASE, WAPE and interval coverage."""

from __future__ import annotations

from typing import Any


from kpredict.errors import DataNotFoundError
from kpredict.forecasting.series import ID, TARGET, TIME
from kpredict.reports.scored_outputs import ScoredOutput

__all__ = ["evaluate_outcomes"]


def evaluate_outcomes(stored: ScoredOutput, config: Any) -> dict[str, float]:
    """The stored forecast's errors on the days whose sales have arrived (scaled by the seasonal
    naive error of the history the forecast was made from, as in training)."""
    from kpredict.forecasting.metrics import forecast_metrics
    from kpredict.pipelines.sales_forecast.data import load_history

    series, _ = load_history(config, config.open_store())
    forecast = stored.table
    history = series[series[TIME] < stored.as_of][[ID, TIME, TARGET]]
    actual = series[series[TIME] >= stored.as_of][[ID, TIME, TARGET]]
    joined = forecast.merge(actual, on=[ID, TIME], how="inner")
    if joined.empty:
        last = series[TIME].max()
        raise DataNotFoundError(
            f"no sales after {stored.as_of.date()} have arrived to compare the forecast with; the data in {config.data_dir} ends on {last.date()}"
        )
    levels = sorted(int(c.rsplit("_", 1)[1]) for c in forecast.columns if c.startswith("yhat_lo_"))
    metrics = forecast_metrics(joined, "yhat", history, config.season_length, levels)
    metrics["days_evaluated"] = float(joined[TIME].nunique())
    metrics["days_forecast"] = float(forecast[TIME].nunique())
    return metrics
