"""The risk pipeline's registered model: the payment scorer and the KPI detector as one estimator,
so one model version, one gate and one ``kpredict score`` serve both detector families."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from kpredict.modeling.anomaly import AnomalyScorer
from kpredict.modeling.kpi import KpiDetector

__all__ = ["RiskDetectors", "event_scorer", "kpi_detector"]


class RiskDetectors(BaseEstimator):
    """``events``: the fitted payment scorer; ``kpi``: the fitted KPI detector, or None;
    ``alert_threshold``: the payments' 0..1 alert threshold (the label-free gate re-scores with it).

    ``score_samples`` is the payment scorer's, so ``mlflow models predict`` on payments works as
    it did when the model was the scorer alone.
    """

    def __init__(self, events: AnomalyScorer, kpi: KpiDetector | None = None, alert_threshold: float | None = None) -> None:
        self.events = events
        self.kpi = kpi
        self.alert_threshold = alert_threshold

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """0..1 anomaly scores of payments (see AnomalyScorer.score_samples)."""
        return self.events.score_samples(X)


def event_scorer(model: Any) -> AnomalyScorer:
    """The payment scorer of a registered risk model (older versions are the scorer itself)."""
    return model.events if isinstance(model, RiskDetectors) else model


def kpi_detector(model: Any) -> KpiDetector | None:
    """The KPI detector of a registered risk model, or None (older versions have none)."""
    return model.kpi if isinstance(model, RiskDetectors) else None
