"""Model engines behind the scikit-learn contract.

``BoostedClassifier`` is the churn engine: LightGBM with native categoricals, optuna tuning,
early stopping and validated probability calibration, saved as model text + JSON (no pickle);
``LinearClassifier`` is its logistic baseline, served instead when it ranks the list better.
``AnomalyScorer`` scores events (payments) and ``KpiDetector`` KPI series, both 0..1 against a
reference, for the risk pipeline. ``MediaMixModel`` (carry-over and saturation transformers, a
ridge with non-negative channel effects) and ``allocate`` serve the budget pipeline.
"""

from __future__ import annotations

from kpredict.modeling.anomaly import AnomalyScorer
from kpredict.modeling.calibration import Calibrator
from kpredict.modeling.classifier import BoostedClassifier, default_search_space
from kpredict.modeling.kpi import KpiDetector
from kpredict.modeling.linear import LinearClassifier
from kpredict.modeling.media import GeometricAdstock, HillSaturation, MediaMixModel

__all__ = [
    "AnomalyScorer",
    "BoostedClassifier",
    "Calibrator",
    "GeometricAdstock",
    "HillSaturation",
    "KpiDetector",
    "LinearClassifier",
    "MediaMixModel",
    "default_search_space",
]
