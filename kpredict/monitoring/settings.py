"""The ``monitoring:`` block of a pipeline config: which realized metric says a model has gone stale."""

from __future__ import annotations

from pydantic import Field, field_validator

from kpredict.config.loader import ConfigModel

__all__ = ["MonitoringSettings"]


class MonitoringSettings(ConfigModel):
    """``kpredict evaluate`` compares ``metric``, computed on the outcomes that arrived after a
    scoring date, with ``threshold``: worse than it (lower, or higher for an error) means stale."""

    metric: str = Field(description="a realized metric the pipeline's evaluation reports, e.g. roc_auc, mase")
    threshold: float = Field(allow_inf_nan=False, description="the model is stale when the metric is worse than this")

    @field_validator("metric")
    @classmethod
    def _known(cls, metric: str) -> str:
        from kpredict.tracking.publish import METRIC_DIRECTIONS

        if metric not in METRIC_DIRECTIONS:
            raise ValueError(f"metric must be one of {sorted(METRIC_DIRECTIONS)} (its direction must be known); got {metric!r}")
        return metric
