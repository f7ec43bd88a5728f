"""Sales history as Nixtla long frames, the known-future calendars (holidays, planned promotions), and on-hand stock as of a date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.features import FeatureStore
from kpredict.features.sources import read_source
from kpredict.forecasting.series import ID, TARGET, TIME, prepare_series
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig

__all__ = ["DEMAND_COLUMNS", "KEY_SEPARATOR", "future_covariates", "load_history", "on_hand_as_of", "recent_demand", "series_ids"]

KEY_SEPARATOR = "/"


def load_history(config: SalesForecastConfig, store: FeatureStore, *, before: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series, keys): the long frame checked by the input rules, and unique_id → business keys.

    ``before`` keeps only periods strictly before that date (what was known at ``as_of``).
    """
    s = config.series
    raw = read_source(store.repo, s.source, store.data_dir, columns=[*s.keys, s.time, s.target])
    missing = [c for c in [*s.keys, s.time, s.target] if c not in raw.columns]
    if missing:
        raise SchemaError(f"source {s.source!r} lacks column(s) {missing}; it has {list(raw.columns)}")
    if before is not None:
        raw = raw[pd.to_datetime(raw[s.time]) < before]
    uid = series_ids(raw, s.keys)
    frame = pd.DataFrame({ID: uid.to_numpy(), TIME: raw[s.time].to_numpy(), TARGET: raw[s.target].to_numpy()})
    series = prepare_series(frame, freq=s.freq, gaps=s.gaps, missing_target=s.missing_target)
    covariates = future_covariates(config, store, series)  # past and future from the same calendar
    if covariates is not None:
        series = pd.concat([series, covariates.drop(columns=[ID, TIME])], axis=1)
    keys = raw[s.keys].assign(**{ID: uid.to_numpy()}).drop_duplicates(ID).sort_values(ID).reset_index(drop=True)
    return series, keys


def series_ids(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """``unique_id`` from the business keys, e.g. ``S001/P0002``."""
    text = frame[keys].astype(str)
    return text[keys[0]].str.cat(text[keys[1:]], sep=KEY_SEPARATOR) if len(keys) > 1 else text[keys[0]]


def future_covariates(config: SalesForecastConfig, store: FeatureStore, index: pd.DataFrame) -> pd.DataFrame | None:
    """The known-future columns for the rows of ``index`` (``unique_id``, ``ds``).

    History and future take these columns from the same calendars (holidays, planned promotions),
    so the model never sees a covariate in training that scoring could not know. Prices are not
    used: only the planned promotional cuts are known ahead, not the regular price changes.
    """
    wanted = config.global_model.known_future if config.global_model.enabled else []
    if not wanted:
        return None
    out = index[[ID, TIME]].copy()
    if "holiday" in wanted:
        if config.series.holidays_source is None:
            raise ConfigError("global_model.known_future lists 'holiday' but series.holidays_source is not set")
        holidays = read_source(store.repo, config.series.holidays_source, store.data_dir, columns=["date", "holiday"])
        # Each holiday gets its own code (0 = an ordinary day): holidays move demand in opposite
        # directions (Christmas Day closes shops, Black Friday fills them).
        names = sorted(holidays["holiday"].astype(str).unique())
        code = holidays["holiday"].astype(str).map({name: i + 1 for i, name in enumerate(names)})
        by_day = pd.Series(code.to_numpy(dtype=np.float64), index=pd.to_datetime(holidays["date"]).dt.normalize())
        by_day = by_day[~by_day.index.duplicated(keep="first")]
        out["holiday"] = by_day.reindex(out[TIME].dt.normalize()).fillna(0.0).to_numpy()
    promo_columns = [name for name in ("promo", "promo_discount") if name in wanted]
    if promo_columns:
        planned = _planned_discounts(config, store).reindex(pd.MultiIndex.from_frame(out[[ID, TIME]]))
        if "promo" in promo_columns:  # on the calendar, whatever the discount (a display-only promotion too)
            out["promo"] = planned.notna().to_numpy(dtype=np.float64)
        if "promo_discount" in promo_columns:
            out["promo_discount"] = planned.fillna(0.0).to_numpy()
    return out


def _planned_discounts(config: SalesForecastConfig, store: FeatureStore) -> pd.Series:
    """The promotion calendar expanded to one discount per (``unique_id``, day) on promotion.

    Overlapping promotions of one series on one day count with their deepest discount.
    """
    s = config.series
    if s.promotions_source is None:
        raise ConfigError("global_model.known_future lists a promotion column but series.promotions_source is not set")
    if s.freq != "D":
        raise ConfigError(f"promotion covariates need daily series (series.freq 'D'); got {s.freq!r}. Remove promo/promo_discount from global_model.known_future.")
    wanted = [*s.keys, "start_date", "end_date", "discount"]
    calendar = read_source(store.repo, s.promotions_source, store.data_dir, columns=wanted)
    missing = [c for c in wanted if c not in calendar.columns]
    if missing:
        raise SchemaError(f"promotion source {s.promotions_source!r} lacks column(s) {missing}; it has {list(calendar.columns)}")
    start = pd.to_datetime(calendar["start_date"]).dt.normalize()
    days = (pd.to_datetime(calendar["end_date"]).dt.normalize() - start).dt.days.to_numpy() + 1
    discount = pd.to_numeric(calendar["discount"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(days) | (days < 1) | ~np.isfinite(discount) | (discount < 0) | (discount >= 1)
    if bad.any():
        raise SchemaError(
            f"promotion source {s.promotions_source!r} has {int(bad.sum())} row(s) with a missing or reversed "
            "start_date/end_date or a discount outside [0, 1); fix those rows"
        )
    days = days.astype(np.int64)
    first = np.repeat(np.cumsum(days) - days, days)
    offset = np.arange(int(days.sum())) - first
    expanded = pd.DataFrame(
        {
            ID: np.repeat(series_ids(calendar, s.keys).to_numpy(), days),
            TIME: np.repeat(start.to_numpy(), days) + offset.astype("timedelta64[D]"),
            "discount": np.repeat(discount, days),
        }
    )
    return expanded.groupby([ID, TIME])["discount"].max()


def on_hand_as_of(config: SalesForecastConfig, store: FeatureStore, keys: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Units on hand per series at ``as_of`` from the inventory feature view (NaN if unknown or stale)."""
    r = config.replenishment
    entities = keys[config.series.keys].copy()
    frame = store.scoring_frame(as_of, [r.inventory_view], entities=entities)
    return pd.Series(frame[r.on_hand_feature].to_numpy(dtype=float), index=keys[ID].to_numpy(), name="on_hand")


DEMAND_COLUMNS = ("mean_sales_recent", "zero_share_recent")


def recent_demand(series: pd.DataFrame, days: int) -> pd.DataFrame:
    """Per series, its last ``days`` periods: mean sales and the share of periods without a sale.

    What the forecast's input drift is measured on: a demand level or an intermittency the model
    never saw moves these distributions across series.
    """
    recent = series.sort_values([ID, TIME]).groupby(ID, sort=True).tail(days)
    return pd.DataFrame({
        "mean_sales_recent": recent.groupby(ID, sort=True)[TARGET].mean(),
        "zero_share_recent": (recent[TARGET] <= 0).groupby(recent[ID], sort=True).mean(),
    }).reset_index()
