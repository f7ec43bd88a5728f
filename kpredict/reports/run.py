"""`kpredict report <pipeline>`: score in memory with explanations, then write the business report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ConfigError

__all__ = ["write_report"]

logger = logging.getLogger(__name__)


def _drivers_chart(run_id: str, lang: str) -> bytes | None:
    """The training run's global SHAP bar chart in ``lang`` (None if the run has none)."""
    import mlflow

    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"explain/shap_importance_{lang}.png")
    except Exception as exc:  # MLflow raises several types for a missing artifact; the report still works
        logger.warning("no global drivers chart in run %s (%s); the report goes without it", run_id, type(exc).__name__)
        return None
    return Path(path).read_bytes()


def write_report(pipeline: str, as_of: str | pd.Timestamp, *, lang: str = "en", model: str | int = "champion",
                 output_dir: str | Path = "output", config: Any = None) -> dict[str, Path]:
    """Score ``pipeline`` as of a date (every row explained) and write its report files."""
    from kpredict.scoring import score

    if pipeline != "churn":
        raise ConfigError(f"no business report is defined for pipeline {pipeline!r} yet (available: churn)")
    from kpredict.reports import write_retention_report

    result = score(pipeline, as_of, model=model, config=config, explain_top="all", write=False)
    frame = result.frame
    run_id = str(frame["run_id"].iloc[0]) if len(frame) else None
    drivers = _drivers_chart(run_id, lang) if run_id else None
    stamp = pd.Timestamp(as_of).date().isoformat()
    return write_retention_report(frame, Path(output_dir), lang=lang, drivers_png=drivers, as_of=stamp)
