"""Forecasting machinery shared by the sales-forecast pipeline: input rules, candidate models,
per-series choice by rolling-origin cross-validation, conformal intervals, the global model.
"""

from kpredict.forecasting.forecaster import Forecaster, ForecasterSettings
from kpredict.forecasting.metrics import forecast_metrics
from kpredict.forecasting.series import demand_class, prepare_series

__all__ = ["Forecaster", "ForecasterSettings", "demand_class", "forecast_metrics", "prepare_series"]
