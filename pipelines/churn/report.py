"""The churn report section: the retention list (Excel + HTML) in the reader's language."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["write_report"]

logger = logging.getLogger(__name__)


def write_report(as_of: str, *, lang: str, model: str | int, output_dir: Path, config: Any) -> dict[str, Path]:
    """Score every active customer in memory (every row explained) and write the retention list."""
    from kpredict.reports import training_chart, write_retention_report
    from kpredict.scoring import score

    result = score("churn", as_of, model=model, config=config, explain_top="all", write=False)
    frame = result.frame
    run_id = str(frame["run_id"].iloc[0]) if len(frame) else None
    drivers = training_chart(run_id, f"explain/shap_importance_{lang}.png") if run_id else None
    stamp = pd.Timestamp(as_of).date().isoformat()
    capacity = config.decision.capacity if config.decision.policy == "capacity" else None
    return write_retention_report(
        frame, Path(output_dir), lang=lang, drivers_png=drivers, as_of=stamp, horizon_days=config.label.horizon_days, capacity=capacity
    )
