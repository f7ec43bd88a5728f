"""Sales history as Nixtla long frames, the known-future holiday flag, and on-hand stock as of a date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpredict.features import FeatureStore
from kpredict.features.sources import read_source
from kpredict.forecasting.series import ID, TARGET, TIME, prepare_series
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig

__all__ = ["KEY_SEPARATOR", "future_covariates", "load_history", "on_hand_as_of", "open_store"]

KEY_SEPARATOR = "/"


def open_store(config: SalesForecastConfig) -> FeatureStore:
    return FeatureStore.from_yaml(config.features, data_dir=config.data_dir, store_dir=config.feature_store_dir)


def load_history(config: SalesForecastConfig, store: FeatureStore, *, before: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series, keys): the long frame checked by the input rules, and unique_id → business keys.

    ``before`` keeps only periods strictly before that date (what was known at ``as_of``).
    """
    s = config.series
    raw = read_source(store.repo, s.source, store.data_dir, columns=[*s.keys, s.time, s.target])
    missing = [c for c in [*s.keys, s.time, s.target] if c not in raw.columns]
    if missing:
        from kpredict.errors import SchemaError

        raise SchemaError(f"source {s.source!r} lacks column(s) {missing}; it has {list(raw.columns)}")
    if before is not None:
        raw = raw[pd.to_datetime(raw[s.time]) < before]
    key_text = raw[s.keys].astype(str)
    uid = key_text[s.keys[0]].str.cat(key_text[s.keys[1:]], sep=KEY_SEPARATOR) if len(s.keys) > 1 else key_text[s.keys[0]]
    frame = pd.DataFrame({ID: uid.to_numpy(), TIME: raw[s.time].to_numpy(), TARGET: raw[s.target].to_numpy()})
    series = prepare_series(frame, freq=s.freq, gaps=s.gaps, missing_target=s.missing_target)
    covariates = future_covariates(config, store, series)  # past and future from the same calendar
    if covariates is not None:
        series = pd.concat([series, covariates.drop(columns=[ID, TIME])], axis=1)
    keys = raw[s.keys].assign(**{ID: uid.to_numpy()}).drop_duplicates(ID).sort_values(ID).reset_index(drop=True)
    return series, keys


def future_covariates(config: SalesForecastConfig, store: FeatureStore, index: pd.DataFrame) -> pd.DataFrame | None:
    """The known-future columns (the holiday flag) for the rows of ``index`` (``unique_id``, ``ds``).

    History and future take these columns from the same calendar, so the model never sees a
    covariate in training that scoring could not know.
    """
    wanted = config.global_model.known_future if config.global_model.enabled else []
    if not wanted:
        return None
    out = index[[ID, TIME]].copy()
    if "holiday" in wanted:
        if config.series.holidays_source is None:
            from kpredict.errors import ConfigError

            raise ConfigError("global_model.known_future lists 'holiday' but series.holidays_source is not set")
        holidays = read_source(store.repo, config.series.holidays_source, store.data_dir, columns=["date", "holiday"])
        # Each holiday gets its own code (0 = an ordinary day): holidays move demand in opposite
        # directions (Christmas Day closes shops, Black Friday fills them).
        names = sorted(holidays["holiday"].astype(str).unique())
        code = holidays["holiday"].astype(str).map({name: i + 1 for i, name in enumerate(names)})
        by_day = pd.Series(code.to_numpy(dtype=np.float64), index=pd.to_datetime(holidays["date"]).dt.normalize())
        by_day = by_day[~by_day.index.duplicated(keep="first")]
        out["holiday"] = by_day.reindex(out[TIME].dt.normalize()).fillna(0.0).to_numpy()
    return out


def on_hand_as_of(config: SalesForecastConfig, store: FeatureStore, keys: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Units on hand per series at ``as_of`` from the inventory feature view (NaN if unknown or stale)."""
    r = config.replenishment
    entities = keys[config.series.keys].copy()
    frame = store.scoring_frame(as_of, [r.inventory_view], entities=entities)
    return pd.Series(frame[r.on_hand_feature].to_numpy(dtype=float), index=keys[ID].to_numpy(), name="on_hand")
