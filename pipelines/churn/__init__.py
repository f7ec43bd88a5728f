"""Churn: whom to retain. ``train.py`` is the recipe; the plugin scores every active customer."""

from __future__ import annotations

from kpredict.pipeline import PipelineDescriptor
from kpredict.pipelines.churn.config import ChurnConfig

__all__ = ["PIPELINE", "ChurnConfig", "train_from_table"]

PIPELINE = PipelineDescriptor.from_package(
    __name__,
    summary="whom to retain: each active customer's probability of leaving, with reasons",
    config_model=ChurnConfig,
    trials_key="model.n_trials",
    train_options={
        "table": "table.path", "target": "table.target", "id": "table.id", "time": "table.time", "positive": "table.positive",
        "keep": "table.keep", "drop": "table.drop",
    },
    evaluate_options={"outcomes": "outcomes"},
)


def __getattr__(name: str):
    """``train_from_table`` on first use: discovering the pipeline must not import its training code."""
    if name == "train_from_table":
        from kpredict.pipelines.churn.train import train_from_table

        return train_from_table
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
