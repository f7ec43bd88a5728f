"""Churn: whom to retain. ``train(config)`` is the recipe; ``scoring`` plugs into ``kpredict score``."""

from __future__ import annotations

from kpredict.pipelines.churn.train import ChurnTrainingResult, load_churn_config, train

__all__ = ["ChurnTrainingResult", "load_churn_config", "train"]
