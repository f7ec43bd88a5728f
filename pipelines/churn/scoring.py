"""How churn plugs into the one scoring interface: a per-row plugin (one probability per customer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from kpredict.config.loader import ConfigModel
from kpredict.errors import ConfigError
from kpredict.features.sources import read_source
from kpredict.pipelines.churn.labels import active_customers
from kpredict.pipelines.churn.train import KEYS, PREDICTION
from kpredict.scoring.plugin import RowScoring, ScoringContext, ScoringInput, descending_rank

__all__ = ["PLUGIN", "ChurnParams", "ChurnScoring"]

#: what a reason's push on the churn score means, said after each reason
EFFECT_WORDS = {"up": {"en": "raises the risk", "zh": "提高流失风险"}, "down": {"en": "lowers the risk", "zh": "降低流失风险"}}


class ChurnParams(ConfigModel):
    """``--table FILE``: for a model trained on a table, the customers to score (default: its training table)."""

    table: str | None = Field(
        None, description="a model trained from a table: score this .parquet/.csv (same columns, no target needed) instead of its training table"
    )


def _table_source(context: ScoringContext) -> tuple[Any, list[dict[str, str]]] | None:
    """(TableConfig, column typing) of a table-trained model, with ``--table`` or the config's table
    if given; None for a model trained on feature views."""
    from kpredict.pipelines.churn.config import TableConfig

    recorded = context.bundle.meta.get("table")
    if recorded is None:
        if getattr(context.params, "table", None):
            raise ConfigError("--table scores tables with a model trained from a table; this model was trained on feature views")
        return None
    configured = context.config.table
    path = context.params.table or (configured.path if configured is not None else recorded["path"])
    return TableConfig(path=path, target="", id=recorded["id"], time=recorded["time"]), recorded["schema"]


class ChurnScoring(RowScoring):
    """Active customers as of the date → calibrated probability → band, rank, contact → reasons."""

    params_model = ChurnParams

    def scoring_input(self, context: ScoringContext) -> ScoringInput:
        """Customers active at ``as_of`` with their features as of then — the training code path
        (for a table-trained model: every customer of the table with a row by then)."""
        config = context.config
        source = _table_source(context)
        if source is not None:
            from kpredict.pipelines.churn.table import TABLE_VIEW, prepare_table, read_table, scoring_entities, table_store

            table, schema = source
            prepared = prepare_table(read_table(table.path), table, schema)
            store = table_store(prepared, schema, table, config.feature_store_dir)
            entities = scoring_entities(prepared, context.as_of)
            frame = store.scoring_frame(context.as_of, [TABLE_VIEW], entities=entities)
            info = {"feature_views": store.view_hashes([TABLE_VIEW]), "entities": len(entities), "table": str(table.path)}
            return ScoringInput(frame.drop(columns=["event_timestamp"]), info)
        store = config.open_store()
        subscriptions = read_source(store.repo, "subscriptions", store.data_dir)
        entities = active_customers(subscriptions, context.as_of)
        views = context.bundle.meta["views"]
        frame = store.scoring_frame(context.as_of, views, entities=entities)
        info = {"feature_views": store.view_hashes(views), "entities": len(entities), "data_dir": str(config.data_dir)}
        return ScoringInput(frame.drop(columns=["event_timestamp"]), info)

    def predict_chunk(self, estimator: Any, features: pd.DataFrame) -> pd.DataFrame:
        """Calibrated churn probability per row."""
        if len(features) == 0:
            return pd.DataFrame({PREDICTION: pd.Series([], dtype=np.float64)})
        return pd.DataFrame({PREDICTION: estimator.predict_proba(features)[:, 1]})

    def finalize(self, context: ScoringContext, result: pd.DataFrame) -> pd.DataFrame:
        """Risk band and rank (1 = riskiest; ties broken by entity key so reruns agree), and whom to contact."""
        meta = context.bundle.meta
        bands = meta["risk_bands"]
        probability = result[PREDICTION].to_numpy()
        result["risk_band"] = np.select([probability >= bands["high"], probability >= bands["medium"]], ["high", "medium"], "low")
        rank = descending_rank(probability, result[KEYS[0]].astype(str).to_numpy())
        result["rank"] = rank
        decision = meta["decision"]
        if decision["policy"] == "cost":
            result["contact"] = probability >= decision["threshold"]
        else:
            result["contact"] = rank <= decision["capacity"]
        return result

    def explain(self, context: ScoringContext, estimator: Any, features: pd.DataFrame, result: pd.DataFrame, count: int) -> pd.DataFrame:
        """Top reasons (feature, value, SHAP contribution, zh + en sentence) for the ``count`` riskiest rows."""
        from kpredict.config import load_config as load_yaml_config
        from kpredict.explain import top_reasons
        from kpredict.features import FeatureRepoConfig

        k = int(context.bundle.meta.get("explain", {}).get("reasons", 3))
        chosen = np.flatnonzero(result["rank"].to_numpy() <= count)
        names = list(estimator.feature_names_in_)
        source = _table_source(context)
        if source is not None:
            from kpredict.pipelines.churn.table import table_repo

            definitions = table_repo(source[1], Path(source[0].path), source[0]).feature_definitions()
        else:
            definitions = load_yaml_config(context.config.features, FeatureRepoConfig).feature_definitions()
        rows = features.iloc[chosen][names]
        contributions = estimator.contributions(rows) if len(rows) else np.zeros((0, len(names) + 1))
        reasons = top_reasons(contributions, rows.reset_index(drop=True), definitions, k=k, effect_words=EFFECT_WORDS)
        reasons.index = chosen
        full = reasons.reindex(range(len(result)))
        text = [c for c in full.columns if not c.endswith("_shap")]
        full[text] = full[text].astype(object).where(full[text].notna() & (full[text] != ""), None)  # no reason: null, not ""
        return full


PLUGIN = ChurnScoring()
