"""Sales forecasting: how much each store × product will sell, how sure we are, how much to order."""

from kpredict.pipelines.sales_forecast.train import SalesForecastResult, train

__all__ = ["SalesForecastResult", "train"]
