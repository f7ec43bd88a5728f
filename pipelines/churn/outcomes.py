"""Churn predictions against what happened: who of the scored customers really left within the horizon."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.errors import ConfigError, DataNotFoundError, SchemaError
from kpredict.reports.scored_outputs import ScoredOutput

__all__ = ["evaluate_outcomes"]


def evaluate_outcomes(stored: ScoredOutput, config: Any) -> dict[str, float]:
    """Realized ROC-AUC, PR-AUC, and churners found among the contacted list (recall and lift at the
    capacity the list was used with) of the stored scores, once the horizon has passed in the data."""
    from kpredict.features.sources import read_source
    from kpredict.pipelines.churn.labels import build_labels
    from kpredict.scoring.bundle import load_bundle

    # only the model's record is read: a library upgrade since it was trained must not block checking it
    recorded = load_bundle("churn", stored.model_version, allow_version_mismatch=True).meta.get("table")
    if recorded is not None or config.outcomes is not None:
        labels = _table_labels(stored, config, recorded)
        return _realized(stored, config, labels)
    store = config.open_store()
    subscriptions = read_source(store.repo, "subscriptions", store.data_dir)
    orders = read_source(store.repo, "orders", store.data_dir, columns=["customer_id", "order_ts"])
    horizon = config.label.horizon_days
    due = stored.as_of + pd.Timedelta(days=horizon)
    seen = max(orders["order_ts"].max(), subscriptions["start_date"].max(), subscriptions["end_date"].max())
    if seen < due - pd.Timedelta(days=1):
        raise DataNotFoundError(
            f"the churn outcomes of {stored.as_of.date()} are complete on {due.date()} ({horizon} days later); "
            f"the data in {config.data_dir} ends on {seen.date()}"
        )
    labels = build_labels(subscriptions, orders, pd.DatetimeIndex([stored.as_of]), horizon_days=horizon, definition=config.label.definition)
    return _realized(stored, config, labels)


def _table_labels(stored: ScoredOutput, config: Any, recorded: dict[str, Any] | None) -> pd.DataFrame:
    """Outcomes of a model trained from a table: the later table given with ``--outcomes``."""
    from kpredict.pipelines.churn.table import table_outcomes

    if recorded is None:
        raise ConfigError(
            f"churn model version {stored.model_version} was trained on feature views: its outcomes come from the subscriptions "
            "and orders in the data, not from --outcomes"
        )
    if "target" not in recorded:
        raise ConfigError(f"churn model version {stored.model_version} predates recorded table targets; retrain it to evaluate it from a table")
    if config.outcomes is None:
        raise DataNotFoundError(
            f"churn model version {stored.model_version} was trained from the table {recorded['path']}: pass the outcomes as "
            f"--outcomes LATER.csv, the same customers with the {recorded['target']!r} column filled in"
        )
    return table_outcomes(config.outcomes, recorded)


def _realized(stored: ScoredOutput, config: Any, labels: pd.DataFrame) -> dict[str, float]:
    """Realized metrics of the stored scores against ``customer_id, churned``."""
    from kpredict.evaluation.classification import classification_metrics

    scored = stored.table[["customer_id", "churn_probability", *(["contact"] if "contact" in stored.table else [])]]
    joined = scored.merge(labels[["customer_id", "churned"]], on="customer_id", how="inner")
    if joined.empty or joined["churned"].nunique() < 2:
        raise SchemaError(f"the scored customers of {stored.as_of.date()} have no outcome of both kinds to compare with (matched {len(joined)})")
    capacity = int(joined["contact"].sum()) if "contact" in joined and joined["contact"].any() else config.decision.capacity
    metrics = classification_metrics(joined["churned"].to_numpy(), joined["churn_probability"].to_numpy(), capacity=capacity)
    metrics |= {"customers": float(len(joined)), "capacity": float(capacity)}
    return metrics
