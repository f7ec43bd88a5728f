"""Churn: whom to retain. ``train(config)`` is the recipe; the plugin scores every active customer."""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor, Ref
from kpredict.pipelines.churn.config import ChurnConfig

__all__ = ["PIPELINE", "ChurnConfig"]

PIPELINE = PipelineDescriptor(
    name="churn",
    summary="whom to retain: each active customer's probability of leaving, with reasons",
    config_model=ChurnConfig,
    train=Ref("kpredict.pipelines.churn.train:train"),
    scoring=Ref("kpredict.pipelines.churn.scoring:PLUGIN"),
    demo=Ref("kpredict.pipelines.churn.demo:run"),
    report=Ref("kpredict.pipelines.churn.report:write_report"),
    trials_key="model.n_trials",
)
