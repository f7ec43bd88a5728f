"""A budget plan against the weeks that followed: does the model still predict the KPI from the
spend that was actually made, and how closely was the plan followed?"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, DataNotFoundError
from kpredict.reports.scored_outputs import ScoredOutput

__all__ = ["evaluate_outcomes"]


def evaluate_outcomes(stored: ScoredOutput, config: Any) -> dict[str, float]:
    """The model version that made the plan predicts the KPI of the plan's weeks from the spend that
    was really made (carry-over from before included); NRMSE, MAPE and bias against the KPI that
    came, and plan adherence: 1 − half the distance between the spent and the recommended split."""
    from kpredict.pipelines.budget.data import design, load_marketing
    from kpredict.pipelines.budget.scoring import PLUGIN
    from kpredict.scoring.bundle import load_bundle

    if not config.time_column:
        raise ConfigError("the budget config has no time_column: without weeks there are no later outcomes to compare a plan with")
    summary = stored.companions.get("summary")
    weeks = int(summary["weeks"].iloc[0]) if summary is not None and len(summary) else config.allocation.weeks
    bundle = load_bundle("budget", int(stored.model_version))
    model = PLUGIN.load_estimator(bundle)
    frame = load_marketing(config, config.open_store())
    origin = pd.Timestamp(bundle.meta["origin"]) if bundle.meta.get("origin") else None
    d = design(config, frame, origin)
    time = frame[config.time_column]
    after = ((time >= stored.as_of) & (time < stored.as_of + pd.Timedelta(weeks=weeks))).to_numpy()
    if not after.any():
        raise DataNotFoundError(f"no week after {stored.as_of.date()} has arrived in {config.data_dir} to compare the plan with")
    predicted = model.predict(d.X[after])
    actual = d.y[after]
    error = predicted - actual
    spent = frame.loc[after, list(d.channels)].sum().to_numpy(dtype=np.float64)
    plan = stored.table.set_index("channel").loc[d.channels, "recommended_spend"].to_numpy(dtype=np.float64)
    adherence = 1 - 0.5 * np.abs(spent / spent.sum() - plan / plan.sum()).sum() if spent.sum() > 0 and plan.sum() > 0 else float("nan")
    return {
        "nrmse": float(np.sqrt(np.mean(error**2)) / np.mean(np.abs(actual))),
        "mape": float(np.mean(np.abs(error) / np.abs(actual))),
        "bias": float(error.sum() / np.abs(actual).sum()),
        "weeks_evaluated": float(after.sum()),
        "weeks_planned": float(weeks),
        "plan_adherence": float(adherence),
        "actual_kpi": float(actual.sum()),
        "predicted_kpi": float(predicted.sum()),
    }
