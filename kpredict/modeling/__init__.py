"""Model engines behind the scikit-learn contract.

``BoostedClassifier`` is the churn engine: LightGBM with native categoricals, optuna tuning,
early stopping and validated probability calibration, saved as model text + JSON (no pickle).
"""

from __future__ import annotations

from kpredict.modeling.calibration import Calibrator
from kpredict.modeling.classifier import BoostedClassifier, default_search_space

__all__ = ["BoostedClassifier", "Calibrator", "default_search_space"]
