"""How the sales forecast plugs into the one scoring interface: a whole-input plugin.

Forecasts are per series × future date, not per input row: the plugin forecasts every series from
its history before ``as_of`` and derives the replenishment table; the interface adds the standard
columns, writes both tables and, last, the manifest.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from kpredict.config.loader import ConfigModel
from kpredict.errors import ConfigError, DataNotFoundError
from kpredict.forecasting.series import ID, TIME
from kpredict.hashing import frame_hash
from kpredict.pipelines.sales_forecast.data import future_covariates, load_history, on_hand_as_of, recent_demand
from kpredict.pipelines.sales_forecast.replenishment import replenishment_table
from kpredict.scoring.plugin import FrameScoring, Scored, ScoringContext

__all__ = ["PLUGIN", "SalesForecastScoring"]


class SalesParams(ConfigModel):
    """``--table FILE``: for a model trained on a table, the later sales table to forecast from (default: its training table)."""

    table: str | None = Field(
        None, description="a model trained from a table: forecast from this .parquet/.csv (same columns) instead of its training table"
    )


def _store(context: ScoringContext) -> tuple[Any, Any]:
    """(config, store) to read the history from: the feature repository, or the table a table-trained
    model names (``--table``, else the config's table, else its training table), read on the model's recorded frequency."""
    config, meta = context.config, context.bundle.meta
    recorded = meta.get("table")
    if recorded is None:
        if getattr(context.params, "table", None):
            raise ConfigError("--table forecasts from a table with a model trained from a table; this model was trained on the feature repository")
        return config, config.open_store()
    from kpredict.pipelines.sales_forecast.table import open_table, recorded_table

    table = recorded_table(recorded, context.params.table or (config.table.path if config.table else None))
    config = config.model_copy(update={"table": table})
    config, store, _ = open_table(config, recorded | {"horizon": meta["horizon"], "known_future": meta.get("known_future", [])})
    return config, store


class SalesForecastScoring(FrameScoring):
    """History before the date → forecasts with intervals → order quantities (when stock is known)."""

    params_model = SalesParams

    def score_frame(self, context: ScoringContext, estimator: Any) -> Scored:
        """Forecasts (business keys first) and ``{"replenishment": table}`` as of ``context.as_of``."""
        as_of, meta = context.as_of, context.bundle.meta
        config, store = _store(context)
        wanted = list(meta.get("known_future", []))
        history, keys = load_history(config, store, before=as_of, wanted=wanted)
        if history.empty:
            raise DataNotFoundError(f"no sales history before {as_of.date()} in source {config.series.source!r}")
        index = estimator.future_index(history).to_frame(index=False)
        future = future_covariates(config, store, index, wanted)
        forecast = estimator.predict(history, future=future, engine=context.engine)
        forecast = keys.merge(forecast, on=ID, how="right")
        business = list(meta.get("series_keys", config.series.keys))
        forecast = forecast[[*business, ID, TIME, *[c for c in forecast.columns if c not in (*business, ID, TIME)]]]

        info = {
            "data_dir": str(config.data_dir) if config.table is None else str(config.table.path),
            "series": int(history[ID].nunique()),
            "history_rows": len(history),
            "history_end": str(history[TIME].max().date()),
            "data_hash": frame_hash(history),
        }
        monitoring = recent_demand(history, int(meta.get("horizon", config.horizon)))
        r = meta.get("replenishment", config.replenishment.model_dump())
        if r.get("inventory_view") is None:  # no stock data: forecasts only (said once at training)
            return Scored(forecast, info, {}, monitoring=monitoring)
        replenishment = config.replenishment.model_copy(update={"inventory_view": r["inventory_view"], "on_hand_feature": r["on_hand_feature"]})
        on_hand = on_hand_as_of(config.model_copy(update={"replenishment": replenishment}), store, keys, as_of)
        table = replenishment_table(forecast, on_hand, lead_time=int(r["lead_time"]), service_level=float(r["service_level"]), levels=estimator.settings.levels)
        table = keys.merge(table, on=ID, how="right")
        info |= {"feature_views": store.view_hashes([r["inventory_view"]]), "on_hand_unknown": int((~table["on_hand_known"]).sum())}
        return Scored(forecast, info, {"replenishment": table}, monitoring=monitoring)


PLUGIN = SalesForecastScoring()
