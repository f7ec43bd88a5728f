"""Budget: where to spend. What each channel's spend returns (carry-over, saturation, intervals from
bootstrap refits) and the split of a budget over channels that the model expects to return most."""

from __future__ import annotations

from kpredict.pipelines.budget.config import BudgetConfig

from kpredict.pipeline import PipelineDescriptor

__all__ = ["PIPELINE", "BudgetConfig"]

PIPELINE = PipelineDescriptor.from_package(
    __name__, summary="where to spend: each channel's return with carry-over and saturation, and the best split of a budget",
    config_model=BudgetConfig, trials_key="search.n_trials",
    train_options={"table": "table.path", "time": "table.time", "kpi": "table.kpi", "channels": "table.channels", "controls": "table.controls"},
)
