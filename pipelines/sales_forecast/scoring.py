"""How the sales forecast plugs into the one scoring interface (kpredict.scoring.score).

Forecasts are per series × future date, not per input row, so this plugin provides
``score_frame`` (the whole-input path) instead of ``predict_chunk``: the interface adds the
standard columns, writes the forecast table, the replenishment table and, last, the manifest.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.errors import DataNotFoundError
from kpredict.forecasting.series import ID, TIME
from kpredict.hashing import frame_hash
from kpredict.pipelines.sales_forecast.data import future_covariates, load_history, on_hand_as_of, open_store
from kpredict.pipelines.sales_forecast.replenishment import replenishment_table
from kpredict.pipelines.sales_forecast.train import load_sales_config

__all__ = ["load_config", "load_estimator", "score_frame"]


def load_config(config: Any = None):
    """The sales-forecast pipeline config (YAML path, object or the default file)."""
    return load_sales_config(config)


def load_estimator(bundle):
    """The forecaster from the model's files (JSON + LightGBM text; no pickle)."""
    from kpredict.forecasting import Forecaster

    return Forecaster.from_artifacts(bundle.directory)


def score_frame(estimator, config, as_of: pd.Timestamp, bundle, *, engine: str = "local") -> tuple[pd.DataFrame, dict, dict[str, pd.DataFrame]]:
    """Forecasts from the history before ``as_of``, and the replenishment table as of then.

    Returns (forecast with the business keys first, input info, {"replenishment": table}).
    """
    store = open_store(config)
    history, keys = load_history(config, store, before=as_of)
    if history.empty:
        raise DataNotFoundError(f"no sales history before {as_of.date()} in source {config.series.source!r}")
    index = estimator.future_index(history).to_frame(index=False)
    future = future_covariates(config, store, index)
    forecast = estimator.predict(history, future=future, engine=engine)
    forecast = keys.merge(forecast, on=ID, how="right")
    business = list(bundle.meta.get("series_keys", config.series.keys))
    forecast = forecast[[*business, ID, TIME, *[c for c in forecast.columns if c not in (*business, ID, TIME)]]]

    r = bundle.meta.get("replenishment", config.replenishment.model_dump())
    on_hand = on_hand_as_of(config, store, keys, as_of)
    table = replenishment_table(forecast, on_hand, lead_time=int(r["lead_time"]), service_level=float(r["service_level"]), levels=estimator.settings.levels)
    table = keys.merge(table, on=ID, how="right")
    info = {
        "data_dir": str(config.data_dir),
        "series": int(history[ID].nunique()),
        "history_rows": len(history),
        "history_end": str(history[TIME].max().date()),
        "data_hash": frame_hash(history),
        "feature_views": store.view_hashes([r["inventory_view"]]),
        "on_hand_unknown": int((~table["on_hand_known"]).sum()),
    }
    return forecast, info, {"replenishment": table}
