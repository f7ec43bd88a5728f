"""How the sales forecast plugs into the one scoring interface: a whole-input plugin.

Forecasts are per series × future date, not per input row: the plugin forecasts every series from
its history before ``as_of`` and derives the replenishment table; the interface adds the standard
columns, writes both tables and, last, the manifest.
"""

from __future__ import annotations

from typing import Any

from kpredict.errors import DataNotFoundError
from kpredict.forecasting.series import ID, TIME
from kpredict.hashing import frame_hash
from kpredict.pipelines.sales_forecast.data import future_covariates, load_history, on_hand_as_of, recent_demand
from kpredict.pipelines.sales_forecast.replenishment import replenishment_table
from kpredict.scoring.plugin import FrameScoring, Scored, ScoringContext

__all__ = ["PLUGIN", "SalesForecastScoring"]


class SalesForecastScoring(FrameScoring):
    """History before the date → forecasts with intervals → order quantities."""

    def score_frame(self, context: ScoringContext, estimator: Any) -> Scored:
        """Forecasts (business keys first) and ``{"replenishment": table}`` as of ``context.as_of``."""
        config, as_of, meta = context.config, context.as_of, context.bundle.meta
        store = config.open_store()
        history, keys = load_history(config, store, before=as_of)
        if history.empty:
            raise DataNotFoundError(f"no sales history before {as_of.date()} in source {config.series.source!r}")
        index = estimator.future_index(history).to_frame(index=False)
        future = future_covariates(config, store, index)
        forecast = estimator.predict(history, future=future, engine=context.engine)
        forecast = keys.merge(forecast, on=ID, how="right")
        business = list(meta.get("series_keys", config.series.keys))
        forecast = forecast[[*business, ID, TIME, *[c for c in forecast.columns if c not in (*business, ID, TIME)]]]

        r = meta.get("replenishment", config.replenishment.model_dump())
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
        return Scored(forecast, info, {"replenishment": table}, monitoring=recent_demand(history, config.horizon))


PLUGIN = SalesForecastScoring()
