"""Sales history as Nixtla long frames, the known-future calendars (holidays, planned promotions), and on-hand stock as of a date."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.features import FeatureStore
from kpredict.features.sources import read_source
from kpredict.forecasting.series import ID, TARGET, TIME, prepare_series
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig

__all__ = ["DEMAND_COLUMNS", "KEY_SEPARATOR", "future_covariates", "known_future", "load_history", "on_hand_as_of", "recent_demand", "series_ids"]

logger = logging.getLogger(__name__)

KEY_SEPARATOR = "/"


def load_history(
    config: SalesForecastConfig, store: FeatureStore, *, before: pd.Timestamp | None = None, wanted: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(series, keys): the long frame checked by the input rules, and unique_id → business keys.

    ``before`` keeps only periods strictly before that date (what was known at ``as_of``);
    ``wanted``: the known-future covariates to attach (default: :func:`known_future`).
    """
    s = config.series
    raw = read_source(store.repo, s.source, store.data_dir, columns=[*s.keys, s.time, s.target])
    missing = [c for c in [*s.keys, s.time, s.target] if c not in raw.columns]
    if missing:
        raise SchemaError(f"source {s.source!r} lacks column(s) {missing}; it has {list(raw.columns)}")
    if before is not None:
        raw = raw[pd.to_datetime(raw[s.time]) < before]
    raw = _without_planned_rows(raw, s.keys, s.time, s.target)
    uid = series_ids(raw, s.keys)
    frame = pd.DataFrame({ID: uid.to_numpy(), TIME: raw[s.time].to_numpy(), TARGET: raw[s.target].to_numpy()})
    if s.gaps == "zero":
        frame = _up_to_the_end(frame)
    series = prepare_series(frame, freq=s.freq, gaps=s.gaps, missing_target=s.missing_target)
    # past and future from the same calendar; a history period without a row has no planned value (0)
    covariates = future_covariates(config, store, series, wanted, history=True)
    if covariates is not None:
        series = pd.concat([series, covariates.drop(columns=[ID, TIME])], axis=1)
    keys = raw[s.keys].assign(**{ID: uid.to_numpy()}).drop_duplicates(ID).sort_values(ID).reset_index(drop=True)
    return series, keys


def series_ids(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """``unique_id`` from the business keys, e.g. ``S001/P0002``."""
    text = frame[keys].astype(str)
    return text[keys[0]].str.cat(text[keys[1:]], sep=KEY_SEPARATOR) if len(keys) > 1 else text[keys[0]]


def _without_planned_rows(raw: pd.DataFrame, keys: list[str], time: str, target: str) -> pd.DataFrame:
    """The history without each series' rows after its last known value: those carry planned
    known-future values (a promotion, a holiday flag) for the dates still to forecast."""
    known = raw[target].notna().to_numpy()
    if known.all():
        return raw
    uid = series_ids(raw, keys)
    last = pd.Series(pd.to_datetime(raw[time]).to_numpy()[known]).groupby(uid.to_numpy()[known]).max()
    planned = ~(pd.to_datetime(raw[time]).to_numpy() <= uid.map(last).to_numpy())
    if planned.any():
        logger.info("%d row(s) after their series' last known %s are planned future periods, not history", int(planned.sum()), target)
    return raw[~planned]


def _up_to_the_end(frame: pd.DataFrame) -> pd.DataFrame:
    """Every series runs to the history's last period: where a missing row means no sale, a series
    whose rows stop early sold nothing since (it is forecast from then, not from weeks ago)."""
    if frame.empty:
        return frame
    if not (pd.api.types.is_datetime64_any_dtype(frame[TIME]) or pd.api.types.is_integer_dtype(frame[TIME])):
        frame = frame.assign(**{TIME: pd.to_datetime(frame[TIME])})
    end = frame[TIME].max()
    last = frame.groupby(ID, sort=False)[TIME].max()
    short = last.index[last < end]
    if len(short) == 0:
        return frame
    logger.info("%d series have no row in the latest period(s): no sale since their last row", len(short))
    return pd.concat([frame, pd.DataFrame({ID: short, TIME: end, TARGET: 0.0})], ignore_index=True)


KNOWN_CALENDARS = ("holiday", "promo", "promo_discount")


def known_future(config: SalesForecastConfig, store: FeatureStore) -> list[str]:
    """The covariates known ahead the global model uses: the config's list, or (null) the holiday
    calendar when ``series.holidays_source`` names a source the repository declares, else none."""
    g = config.global_model
    if not g.enabled:
        return []
    if g.known_future is not None:
        return list(g.known_future)
    source = config.series.holidays_source
    if source is not None and source in store.repo.sources:
        return ["holiday"]
    logger.info("no holiday calendar (series.holidays_source %r is not a declared source): no holiday covariate", source)
    return []


def future_covariates(
    config: SalesForecastConfig, store: FeatureStore, index: pd.DataFrame, wanted: list[str] | None = None, *, history: bool = False
) -> pd.DataFrame | None:
    """The known-future columns ``wanted`` (default: :func:`known_future`) for the rows of ``index`` (``unique_id``, ``ds``).

    History and future take these columns from the same calendars (holidays, planned promotions)
    or from the planned values in the sales source itself, so the model never sees a covariate in
    training that scoring could not know. Prices are not used: only the planned promotional cuts
    are known ahead, not the regular price changes. A period of the future without a planned value
    is an error; one of the ``history`` (a gap filled as no sale) has none: 0.
    """
    if wanted is None:
        wanted = known_future(config, store)
    if not wanted:
        return None
    out = index[[ID, TIME]].copy()
    if "holiday" in wanted:
        out["holiday"] = _holiday_codes(config, store, out[TIME])
    own = [name for name in wanted if name not in KNOWN_CALENDARS]
    if own:
        s = config.series
        planned = read_source(store.repo, s.source, store.data_dir, columns=[*s.keys, s.time, *own])
        lacking = [c for c in own if c not in planned.columns]
        if lacking:
            raise SchemaError(f"known-future column(s) {lacking} are not in source {s.source!r}; it has {list(planned.columns)}")
        planned.index = pd.MultiIndex.from_arrays([series_ids(planned, s.keys).to_numpy(), pd.to_datetime(planned[s.time]).to_numpy()])
        planned = planned[~planned.index.duplicated(keep="last")]
        rows = planned.reindex(pd.MultiIndex.from_frame(out[[ID, TIME]]))
        for name in own:
            values = rows[name].to_numpy(dtype=np.float64)
            if history:
                values = np.nan_to_num(values, nan=0.0)
            if np.isnan(values).any():
                first = out.loc[np.isnan(values)].iloc[0]
                raise SchemaError(
                    f"known-future column {name!r} has no value for {int(np.isnan(values).sum())} period(s) the model needs, e.g. series "
                    f"{first[ID]!r} at {pd.Timestamp(first[TIME]).date()}; add rows for the forecast periods (blank target) with the planned values"
                )
            out[name] = values
    promo_columns = [name for name in ("promo", "promo_discount") if name in wanted]
    if promo_columns:
        planned = _planned_discounts(config, store).reindex(pd.MultiIndex.from_frame(out[[ID, TIME]]))
        if "promo" in promo_columns:  # on the calendar, whatever the discount (a display-only promotion too)
            out["promo"] = planned.notna().to_numpy(dtype=np.float64)
        if "promo_discount" in promo_columns:
            out["promo_discount"] = planned.fillna(0.0).to_numpy()
    return out


def _holiday_codes(config: SalesForecastConfig, store: FeatureStore, times: pd.Series) -> np.ndarray:
    """Each period's holiday code: 0 for an ordinary period, else the code of its first holiday.

    Each holiday gets its own code: holidays move demand in opposite directions (Christmas Day
    closes shops, Black Friday fills them). A week or month holds a holiday that falls on any of
    its days (weeks labelled by their last day, as pandas' W-FRI; months by their first, as MS).
    """
    if config.series.holidays_source is None:
        raise ConfigError("global_model.known_future lists 'holiday' but series.holidays_source is not set")
    holidays = read_source(store.repo, config.series.holidays_source, store.data_dir, columns=["date", "holiday"])
    names = sorted(holidays["holiday"].astype(str).unique())
    code = holidays["holiday"].astype(str).map({name: i + 1 for i, name in enumerate(names)})
    days = pd.to_datetime(holidays["date"]).dt.normalize()
    offset = pd.tseries.frequencies.to_offset(config.series.freq)
    base = offset.name.split("-")[0]
    if base.startswith("W") or base in ("ME", "QE", "YE", "BME", "BQE", "BYE"):
        days = days.map(offset.rollforward)  # the period that ends on or after the day
    elif base in ("MS", "QS", "YS", "BMS", "BQS", "BYS"):
        days = days.map(offset.rollback)  # the period that starts on or before it
    by_period = pd.Series(code.to_numpy(dtype=np.float64), index=pd.DatetimeIndex(days))
    by_period = by_period.sort_index(kind="stable")
    by_period = by_period[~by_period.index.duplicated(keep="first")]
    return by_period.reindex(pd.to_datetime(times).dt.normalize()).fillna(0.0).to_numpy()


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
    if r.inventory_view is None:
        return pd.Series(np.nan, index=keys[ID].to_numpy(), name="on_hand")
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
