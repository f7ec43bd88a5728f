"""How churn plugs into the one scoring interface (kpredict.scoring.score)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kpredict.features import FeatureStore
from kpredict.features.sources import read_source
from kpredict.pipelines.churn.labels import active_customers
from kpredict.pipelines.churn.train import KEYS, PREDICTION, load_churn_config

__all__ = ["explain", "finalize", "load_config", "load_estimator", "predict_chunk", "scoring_input"]

BANDS = ("high", "medium", "low")


def load_config(config: Any = None):
    """The churn pipeline config (YAML path, object or the default file)."""
    return load_churn_config(config)


def load_estimator(bundle):
    """The classifier from the model's files (LightGBM text + JSON; no pickle)."""
    from kpredict.modeling import BoostedClassifier

    return BoostedClassifier.from_artifacts(bundle.directory)


def scoring_input(config, as_of: pd.Timestamp, bundle) -> tuple[pd.DataFrame, dict]:
    """Customers active at ``as_of`` with their features as of then — the training code path."""
    store = FeatureStore.from_yaml(config.features, data_dir=config.data_dir, store_dir=config.feature_store_dir)
    subscriptions = read_source(store.repo, "subscriptions", store.data_dir)
    entities = active_customers(subscriptions, as_of)
    views = bundle.meta["views"]
    frame = store.scoring_frame(as_of, views, entities=entities)
    info = {"feature_views": store.view_hashes(views), "entities": len(entities), "data_dir": str(config.data_dir)}
    return frame.drop(columns=["event_timestamp"]), info


def predict_chunk(estimator, features: pd.DataFrame) -> pd.DataFrame:
    """Calibrated churn probability per row."""
    if len(features) == 0:
        return pd.DataFrame({PREDICTION: pd.Series([], dtype=np.float64)})
    return pd.DataFrame({PREDICTION: estimator.predict_proba(features)[:, 1]})


def finalize(result: pd.DataFrame, bundle) -> pd.DataFrame:
    """Risk band and rank (1 = riskiest; ties broken by entity key so reruns agree), and whom to contact."""
    bands = bundle.meta["risk_bands"]
    probability = result[PREDICTION].to_numpy()
    result["risk_band"] = np.select([probability >= bands["high"], probability >= bands["medium"]], ["high", "medium"], "low")
    order = np.lexsort([result[KEYS[0]].astype(str).to_numpy(), -probability]) if len(result) else np.zeros(0, int)
    rank = np.empty(len(result), dtype=np.int64)
    rank[order] = np.arange(1, len(result) + 1)
    result["rank"] = rank
    decision = bundle.meta["decision"]
    if decision["policy"] == "cost":
        result["contact"] = probability >= decision["threshold"]
    else:
        result["contact"] = rank <= decision["capacity"]
    return result


def explain(estimator, features: pd.DataFrame, result: pd.DataFrame, count: int, bundle, config) -> pd.DataFrame:
    """Top reasons (feature, value, SHAP contribution, zh + en sentence) for the ``count`` riskiest rows."""
    from kpredict.config import load_config as load_yaml_config
    from kpredict.explain import top_reasons
    from kpredict.features import FeatureRepoConfig

    k = int(bundle.meta.get("explain", {}).get("reasons", 3))
    chosen = np.flatnonzero(result["rank"].to_numpy() <= count)
    names = list(estimator.feature_names_in_)
    repo = load_yaml_config(config.features, FeatureRepoConfig)
    definitions = {f.name: f for view in repo.feature_views.values() for f in view.features}
    rows = features.iloc[chosen][names]
    contributions = estimator.contributions(rows) if len(rows) else np.zeros((0, len(names) + 1))
    reasons = top_reasons(contributions, rows.reset_index(drop=True), definitions, k=k)
    reasons.index = chosen
    full = reasons.reindex(range(len(result)))
    text = [c for c in full.columns if not c.endswith("_shap")]
    full[text] = full[text].fillna("")
    return full
