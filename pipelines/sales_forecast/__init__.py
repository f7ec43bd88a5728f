"""Sales forecasting: how much each store × product will sell, how sure we are, how much to order."""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig

__all__ = ["PIPELINE", "SalesForecastConfig"]

PIPELINE = PipelineDescriptor.from_package(
    __name__,
    summary="how much to stock: forecasts per store x product with intervals, and order quantities",
    config_model=SalesForecastConfig,
    train_options={
        "table": "table.path", "id": "table.id", "time": "table.time", "target": "table.target", "on_hand": "table.on_hand",
        "known_future": "table.known_future", "holidays": "table.holidays", "freq": "table.freq", "horizon": "horizon",
    },
)
