"""Sales forecasting: how much each store × product will sell, how sure we are, how much to order."""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor, Ref
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig

__all__ = ["PIPELINE", "SalesForecastConfig"]

PIPELINE = PipelineDescriptor(
    name="sales_forecast",
    summary="how much to stock: forecasts per store x product with intervals, and order quantities",
    config_model=SalesForecastConfig,
    train=Ref("kpredict.pipelines.sales_forecast.train:train"),
    scoring=Ref("kpredict.pipelines.sales_forecast.scoring:PLUGIN"),
    demo=Ref("kpredict.pipelines.sales_forecast.demo:run"),
)
