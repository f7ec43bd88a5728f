"""Risk anomalies: what to investigate. Every payment scored 0..1 as of its own time, alerts within
a budget, reasons in zh / en. (The KPI detector and alert delivery follow.)"""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor
from kpredict.pipelines.risk_anomaly.config import RiskAnomalyConfig

__all__ = ["PIPELINE", "RiskAnomalyConfig"]

PIPELINE = PipelineDescriptor.from_package(
    __name__, summary="what to investigate: each payment's anomaly score, alerts within a budget, reasons", config_model=RiskAnomalyConfig
)
