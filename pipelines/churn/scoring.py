"""How churn plugs into the one scoring interface: a per-row plugin (one probability per customer)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kpredict.features.sources import read_source
from kpredict.pipelines.churn.labels import active_customers
from kpredict.pipelines.churn.train import KEYS, PREDICTION
from kpredict.scoring.plugin import RowScoring, ScoringContext, ScoringInput, descending_rank

__all__ = ["PLUGIN", "ChurnScoring"]

#: what a reason's push on the churn score means, said after each reason
EFFECT_WORDS = {"up": {"en": "raises the risk", "zh": "提高流失风险"}, "down": {"en": "lowers the risk", "zh": "降低流失风险"}}


class ChurnScoring(RowScoring):
    """Active customers as of the date → calibrated probability → band, rank, contact → reasons."""

    def scoring_input(self, context: ScoringContext) -> ScoringInput:
        """Customers active at ``as_of`` with their features as of then — the training code path."""
        config = context.config
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
