"""`kpredict report <pipeline>`: the business report of a pipeline, found through its descriptor."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.reports.i18n import check_lang

__all__ = ["training_chart", "write_report"]

logger = logging.getLogger(__name__)


def training_chart(run_id: str, artifact_file: str) -> bytes | None:
    """A PNG the training run logged (e.g. ``explain/shap_importance_zh.png``); None if it has none."""
    import mlflow

    from kpredict.tracking.store import configure

    configure()  # the report may be the first thing this process asks MLflow
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_file)
    except Exception as exc:  # MLflow raises several types for a missing artifact; the report still works
        logger.warning("run %s has no %s (%s); the report goes without it", run_id, artifact_file, type(exc).__name__)
        return None
    return Path(path).read_bytes()


def write_report(pipeline: str, as_of: str | pd.Timestamp, *, lang: str = "en", model: str | int = "champion",
                 output_dir: str | Path = "output", config: Any = None) -> dict[str, Path]:
    """Write ``pipeline``'s business report as of a date in ``lang``; returns ``{kind: path}``.

    Raises:
        ConfigError: an unknown pipeline, one without a report, or a language other than zh / en.
    """
    from kpredict.pipeline import get_pipeline, resolve

    check_lang(lang)
    descriptor = get_pipeline(pipeline, needs="report")
    section = resolve(descriptor.report)
    stamp = pd.Timestamp(as_of).date().isoformat()
    return section(stamp, lang=lang, model=model, output_dir=Path(output_dir), config=descriptor.load_config(config))
