"""A retailer's own sales table in: the sales forecast without a hand-written feature repository.

``kpredict train sales_forecast --table sales.csv --id store,dept --time week --target sales``

The table (one row per series and period) is read once and typed: keys as text, the time as dates,
the target and the optional on-hand and known-future columns as numbers. It is written to the
feature store as a parquet file named by its content, and a repository is declared over it behind
the scenes: the sales source, an on-hand view when the table has stock, and a holiday calendar
from the ``holidays`` package when a country is named. Training and scoring then go through the
same code as the demo company. What is inferred (frequency, preset, horizon) is logged and
recorded in the model, and a later table is read the same way (``kpredict score ... --table``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.features import FeatureRepoConfig, FeatureStore
from kpredict.features.own_tables import column_name, read_timestamps, write_once
from kpredict.pipelines.sales_forecast.config import SalesForecastConfig, SalesTableConfig

__all__ = ["SOURCE", "HOLIDAYS_SOURCE", "INVENTORY_VIEW", "infer_frequency", "open_table", "prepare_sales_table", "table_meta"]

logger = logging.getLogger(__name__)

SOURCE = "sales_table"
HOLIDAYS_SOURCE = "holidays"
INVENTORY_VIEW = "table_on_hand"
ON_HAND = "on_hand"
#: pandas frequency prefix → the forecasting preset made for it
_PRESET_BY_FREQ = {"D": "daily", "B": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "yearly", "A": "yearly", "h": "hourly", "H": "hourly"}
#: the global model's lags and date features per preset (daily keeps the pipeline's defaults); the
#: slower frequencies have too few periods per series for a model across series to learn from
_GLOBAL_BY_PRESET: dict[str, dict[str, Any]] = {
    "daily": {},
    "weekly": {"lags": [1, 2, 3, 4, 8, 13], "rolling_windows": [4, 13], "date_features": ["month", "dayofyear"]},
    "hourly": {"lags": [1, 2, 24, 48, 168], "rolling_windows": [24, 168], "date_features": ["hour", "dayofweek"]},
}


#: the latest periods the statistical models fit on, per preset: on five years of daily sales the
#: whole history makes AutoARIMA's fits the run's cost, and two years hold two of every season
_INPUT_SIZE = {"daily": 730}


def infer_frequency(times: pd.Series) -> str:
    """The pandas frequency of the table's periods (days, weeks ending on a weekday, month starts...).

    Read from the distinct dates of the whole table, whose union is regular even when single
    series skip periods; a table whose dates follow no calendar gets an error saying to give --freq.
    """
    dates = pd.DatetimeIndex(pd.Series(pd.unique(times.dropna())).sort_values())
    if len(dates) < 3:
        raise SchemaError(f"the sales table has {len(dates)} distinct date(s); at least 3 are needed to tell its frequency")
    freq = pd.infer_freq(dates)
    if freq is None:  # a union with gaps: the most common step, checked against the calendar
        gap = pd.Series(np.diff(dates.asi8)).mode().iloc[0]
        days = gap / 86_400e9
        if days < 1:
            hours = gap / 3_600e9
            freq = "h" if hours == 1 else f"{int(hours)}h" if float(hours).is_integer() else None
        elif days == 1:
            freq = "D"
        elif days == 7:
            freq = f"W-{dates[-1].day_name()[:3].upper()}"
        elif 28 <= days <= 31:
            freq = "MS" if (dates.day == 1).all() else "ME" if dates.is_month_end.all() else None
        elif 89 <= days <= 92:
            freq = f"QS-{dates[0].strftime('%b').upper()}" if (dates.day == 1).all() else None
        elif 365 <= days <= 366:
            freq = f"YS-{dates[0].strftime('%b').upper()}" if (dates.day == 1).all() else None
        if freq is None:
            raise SchemaError(
                f"cannot tell the frequency of the sales table's dates (most common step {pd.Timedelta(gap)}); give it with --freq, e.g. D, W-FRI, MS"
            )
    offset = pd.tseries.frequencies.to_offset(freq)
    off = ~dates.map(offset.is_on_offset).to_numpy(dtype=bool)
    if off.any():
        raise SchemaError(f"{int(off.sum())} date(s) of the sales table, e.g. {dates[off][0].date()}, are not on its frequency {freq!r}; give --freq")
    return freq


def preset_for(freq: str) -> str:
    """The forecasting preset of a pandas frequency (``W-FRI`` → weekly, ``MS`` → monthly...)."""
    prefix = re.sub(r"^\d+", "", freq).split("-")[0]
    for key in sorted(_PRESET_BY_FREQ, key=len, reverse=True):
        if prefix.startswith(key):
            return _PRESET_BY_FREQ[key]
    raise ConfigError(f"no forecasting preset fits the frequency {freq!r}; expected days, weeks, months, quarters, years or hours")


def prepare_sales_table(frame: pd.DataFrame, table: SalesTableConfig) -> tuple[pd.DataFrame, dict[str, str]]:
    """(typed table, column → name in it): keys as text, the time as dates, numbers as float64.

    Rows with a blank target stay: after a series' last sale they carry its planned known-future
    values (a promotion, a holiday flag) for the forecast dates.
    """
    named = {"--id": table.id, "--time": [table.time], "--target": [table.target]}
    if table.on_hand:
        named["--on-hand"] = [table.on_hand]
    if table.known_future:
        named["--known-future"] = table.known_future
    missing = [f"{option} {column!r}" for option, columns in named.items() for column in columns if column not in frame.columns]
    if missing:
        raise SchemaError(f"sales table {table.path} has no column {', '.join(missing)}; its columns: {list(frame.columns)}")
    taken: set[str] = set()
    names = {column: column_name(column, taken) for column in [*table.id, table.time, table.target, *([table.on_hand] if table.on_hand else []), *table.known_future]}
    prepared = pd.DataFrame(index=frame.index)
    for column in table.id:
        keys = frame[column].astype("string").str.strip()
        if keys.isna().any():
            raise SchemaError(f"sales table {table.path}: --id column {column!r} is empty in {int(keys.isna().sum())} row(s)")
        prepared[names[column]] = keys.astype(object)
    prepared[names[table.time]] = read_timestamps(frame[table.time], what=f"sales table {table.path}", option="--time")
    for option, column in [("--target", table.target), *(("--on-hand", c) for c in ([table.on_hand] if table.on_hand else [])),
                           *(("--known-future", c) for c in table.known_future)]:
        prepared[names[column]] = _numbers(frame[column], option, column, table.path)
    return prepared.reset_index(drop=True), names


def _numbers(values: pd.Series, option: str, column: str, path: str) -> pd.Series:
    """A column as float64: numbers, yes/no and true/false flags; blank is missing."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(np.float64)
    text = values.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    flags = text.map({"true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0, "y": 1.0, "n": 0.0, "t": 1.0, "f": 0.0})
    numbers = pd.to_numeric(text.where(flags.isna()), errors="coerce").fillna(flags)
    bad = numbers.isna() & text.notna()
    if bad.any():
        example = values[bad.to_numpy()].iloc[0]
        raise SchemaError(f"sales table {path}: {option} column {column!r} must hold numbers; {int(bad.sum())} value(s) are not, e.g. {example!r}")
    return numbers.astype(np.float64)


def _holiday_calendar(country: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """``date, holiday``: the public holidays of ``country`` (``holidays`` package: CN, US, DE or
    ``US-CA`` for a state) from the table's first year to two years past its last."""
    import holidays

    code, _, subdivision = country.partition("-")
    try:
        calendar = holidays.country_holidays(code.upper(), subdiv=subdivision or None, years=range(first.year, last.year + 3))
    except NotImplementedError:
        raise ConfigError(f"--holidays {country!r}: no public holiday calendar for that country; expected an ISO code such as CN, US, DE or US-CA") from None
    rows = sorted(calendar.items())
    return pd.DataFrame({"date": pd.to_datetime([day for day, _ in rows]), "holiday": [name for _, name in rows]})


def _repository(names: dict[str, str], table: SalesTableConfig, sales_path: Path, holidays_path: Path | None) -> FeatureRepoConfig:
    keys = [names[c] for c in table.id]
    repo: dict[str, Any] = {"sources": {SOURCE: {"kind": "parquet", "path": str(sales_path.resolve())}}}
    if holidays_path is not None:
        repo["sources"][HOLIDAYS_SOURCE] = {"kind": "parquet", "path": str(holidays_path.resolve())}
    if table.on_hand:
        what = Path(table.path).name
        repo["entities"] = {"series": {"join_keys": keys, "description": {"en": "a series of the sales table", "zh": "销售表中的一个序列"}}}
        repo["feature_views"] = {
            INVENTORY_VIEW: {
                "entities": ["series"], "source": SOURCE, "event_timestamp": names[table.time],
                "description": {"en": f"stock on hand in {what}", "zh": f"{what} 中的库存"},
                "features": [{
                    "name": ON_HAND, "transform": {"kind": "latest", "column": names[table.on_hand]},
                    "description": {"en": f"units on hand ({table.on_hand})", "zh": f"现有库存（{table.on_hand}）"},
                }],
            }
        }
    return FeatureRepoConfig.model_validate(repo)


def open_table(config: SalesForecastConfig, recorded: dict[str, Any] | None = None) -> tuple[SalesForecastConfig, FeatureStore, dict[str, Any]]:
    """(the config with the table's series, frequency and preset filled in, a store over the typed
    table, what the model records) for ``config.table``.

    ``recorded``: the model's own record at scoring, so a later table is read on the same
    frequency, horizon and covariates whatever it holds.
    """
    from kpredict.scoring.input_file import read_table

    table = config.table
    if table is None:
        raise ConfigError("open_table needs config.table (a sales table)")
    prepared, names = prepare_sales_table(read_table(table.path, role="sales table"), table)
    time_column = names[table.time]
    freq = (recorded or {}).get("freq") or table.freq or infer_frequency(prepared[time_column])
    preset = (recorded or {}).get("preset") or preset_for(freq)
    directory = Path(config.feature_store_dir) / "_tables"
    sales_path = write_once(prepared, directory, SOURCE)
    holidays_path = None
    if table.holidays:
        calendar = _holiday_calendar(table.holidays, prepared[time_column].min(), prepared[time_column].max())
        holidays_path = write_once(calendar, directory, f"holidays-{table.holidays}")
    store = FeatureStore(_repository(names, table, sales_path, holidays_path), data_dir=directory, store_dir=config.feature_store_dir)
    effective = _effective_config(config, names, freq, preset, recorded)
    if recorded is None:
        from kpredict.progress import note

        series = prepared.groupby([names[c] for c in table.id]).ngroups
        note(
            f"sales table {table.path}: {len(prepared):,} rows, {series:,} series of {'/'.join(table.id)}; "
            f"frequency {freq} ({'given' if table.freq else 'inferred from the dates'}) → preset {preset!r}, "
            f"season length {effective.season_length}, horizon {effective.horizon}"
            + ("" if "horizon" in config.model_fields_set else f" (the {preset} default; --horizon N to change)")
        )
        covariates = [*table.known_future, *([f"{table.holidays} public holidays"] if table.holidays else [])]
        note(
            f"sales table: known-future covariates {', '.join(covariates) if covariates else 'none'}; "
            + (f"stock from {table.on_hand!r}" if table.on_hand else "no stock column: forecasts and intervals only, no order quantities (--on-hand COLUMN)")
        )
    return effective, store, table_meta(table, names, freq, preset)


def _effective_config(config: SalesForecastConfig, names: dict[str, str], freq: str, preset: str,
                      recorded: dict[str, Any] | None) -> SalesForecastConfig:
    from kpredict.forecasting.presets import PRESETS
    from kpredict.pipelines.sales_forecast.config import CrossValidationConfig, GlobalModelConfig, ReplenishmentConfig, SeriesConfig

    table = config.table
    assert table is not None
    explicit = config.model_fields_set
    update: dict[str, Any] = {
        "series": SeriesConfig(
            source=SOURCE, keys=[names[c] for c in table.id], time=names[table.time], target=names[table.target], freq=freq,
            gaps=table.gaps, missing_target=table.gaps if table.gaps == "zero" else "error",
            holidays_source=HOLIDAYS_SOURCE if table.holidays else None, promotions_source=None,
        ),
        "preset": config.preset or preset,
        "replenishment": ReplenishmentConfig(
            **{**config.replenishment.model_dump(), "inventory_view": INVENTORY_VIEW if table.on_hand else None, "on_hand_feature": ON_HAND}
        ),
    }
    if recorded is not None:
        update["horizon"] = recorded["horizon"]
    elif "horizon" not in explicit:
        update["horizon"] = PRESETS[preset]["horizon"]
    if "season_length" not in explicit:
        update["season_length"] = PRESETS[preset]["season_length"]
    if "cv" not in explicit and preset in _INPUT_SIZE:  # long histories: the statistical models fit on the latest years
        p = PRESETS[preset]
        update["cv"] = CrossValidationConfig(
            windows=p["cv_windows"], step=p["cv_step"], min_train_length=p["min_train_length"], input_size=_INPUT_SIZE[preset]
        )
    if "global_model" not in explicit:
        own = _GLOBAL_BY_PRESET.get(preset)
        known = [names[c] for c in table.known_future] + (["holiday"] if table.holidays else [])
        update["global_model"] = GlobalModelConfig(**{**config.global_model.model_dump(), **(own or {}), "enabled": own is not None, "known_future": known})
    if recorded is not None:
        update["global_model"] = GlobalModelConfig(**{**update.get("global_model", config.global_model).model_dump(), "known_future": recorded["known_future"]})
    return config.model_copy(update=update)


def table_meta(table: SalesTableConfig, names: dict[str, str], freq: str, preset: str) -> dict[str, Any]:
    """What a model trained on a table records, so a later table is read the same way."""
    return {
        "path": str(Path(table.path).resolve()), "id": list(table.id), "time": table.time, "target": table.target,
        "on_hand": table.on_hand, "known_future_columns": list(table.known_future), "holidays": table.holidays,
        "gaps": table.gaps, "names": names, "freq": freq, "preset": preset,
    }


def recorded_table(recorded: dict[str, Any], path: str | None) -> SalesTableConfig:
    """The table settings a model recorded, reading ``path`` (default: its training table)."""
    return SalesTableConfig(
        path=path or recorded["path"], id=recorded["id"], time=recorded["time"], target=recorded["target"],
        on_hand=recorded.get("on_hand"), known_future=recorded.get("known_future_columns", []), holidays=recorded.get("holidays"),
        freq=recorded["freq"], gaps=recorded.get("gaps", "zero"),
    )
