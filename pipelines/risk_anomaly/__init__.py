"""Risk anomalies: what to investigate. Every payment scored 0..1 as of its own time, alerts within
a budget, reasons in zh / en. (The KPI detector and alert delivery follow.)"""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor
from kpredict.pipelines.risk_anomaly.config import RiskAnomalyConfig

__all__ = ["PIPELINE", "RiskAnomalyConfig"]

PIPELINE = PipelineDescriptor.from_package(
    __name__, summary="what to investigate: each payment's anomaly score, alerts within a budget, reasons", config_model=RiskAnomalyConfig,
    train_options={
        option: f"table.{option}"
        for option in ("table", "id", "time", "time_format", "amount", "txn_id", "country", "channel", "merchant", "kpi_table", "kpi_id", "kpi_time", "kpi_value")
    } | {"table": "table.path"},
)
