"""kpredict: four recurring business decisions from one feature store, tracked in MLflow."""

from __future__ import annotations

__version__ = "0.1.0"
