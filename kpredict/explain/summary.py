"""The global explanation a training run logs: importance table, bar charts (en + zh), beeswarm."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kpredict.explain.importance import global_importance
from kpredict.explain.plots import plot_beeswarm, plot_importance_bar
from kpredict.features.definitions import Feature

__all__ = ["SAMPLE_ROWS", "log_global_explanations"]

#: rows of the holdout explained for the global charts (a seeded sample beyond that)
SAMPLE_ROWS = 5000


def log_global_explanations(
    run: Any,
    contributions_of: Any,
    frame: pd.DataFrame,
    names: list[str],
    definitions: Mapping[str, Feature],
    *,
    prefix: str = "explain",
    seed: int = 0,
) -> pd.DataFrame:
    """Log the global SHAP summary of ``frame`` to ``run``; returns the importance table.

    Args:
        run: a :class:`kpredict.tracking.TrainingRun` (anything with ``log_table``/``log_figure``).
        contributions_of: ``rows -> array (n, len(names) + 1)`` of SHAP contributions (last column
            the base value), e.g. a fitted BoostedClassifier's ``contributions``.
        frame: the rows to explain (the holdout); at most :data:`SAMPLE_ROWS` of them are used.
        names: the model's feature names, in the contributions' column order.
        definitions: feature name -> definition, for the business labels of the bar charts.

    Writes ``<prefix>/global_importance.csv``, ``<prefix>/shap_importance_en.png``,
    ``<prefix>/shap_importance_zh.png`` and ``<prefix>/shap_beeswarm.png``.
    """
    sample = frame.sample(n=SAMPLE_ROWS, random_state=seed) if len(frame) > SAMPLE_ROWS else frame
    contributions = np.asarray(contributions_of(sample))
    importance = global_importance(contributions, names)
    run.log_table(importance, f"{prefix}/global_importance.csv")
    for lang in ("en", "zh"):
        run.log_figure(plot_importance_bar(importance, definitions, lang=lang), f"{prefix}/shap_importance_{lang}.png")
    run.log_figure(plot_beeswarm(contributions, sample[names], names), f"{prefix}/shap_beeswarm.png")
    return importance
