"""Point-in-time join of materialised views onto an entity frame, then the on-demand features.

The join is DuckDB's ``ASOF LEFT JOIN`` (a merge, never a cross join): for each entity row it
takes the latest materialised row of the same entity at (``>=``) or strictly before (``>``) the
entity time. A view that is not materialised for its current definition and source is instead
evaluated directly at the entity rows' times (``evaluate_view``: same kernels, same values). Rows
whose latest source event is older than the view's TTL get NaN features and are counted. The
output keeps the entity frame's row order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kpredict.errors import PointInTimeError, SchemaError
from kpredict.features.definitions import (
    CalendarTransform,
    ChangeTransform,
    DecayTransform,
    FeatureView,
    RatioTransform,
    RecencyTransform,
    parse_duration,
)
from kpredict.features.materialize import MaterialisedView, ViewEvents, evaluate_features, plain_key

__all__ = ["JoinResult", "asof_join_view", "calendar_features", "cast_feature", "evaluate_view"]

logger = logging.getLogger(__name__)

_NS_PER = {"days": 86400e9, "hours": 3600e9}


@dataclass
class JoinResult:
    """Feature columns aligned with the entity rows, and how many rows were stale (beyond TTL)."""

    features: dict[str, pd.Series | np.ndarray]
    stale_rows: int


def _check_key_dtypes(view_name: str, keys: list[str], entity: pd.DataFrame, table: pd.DataFrame) -> None:
    for key in keys:
        left, right = entity[key].dtype, table[key].dtype
        left_num = pd.api.types.is_numeric_dtype(left)
        right_num = pd.api.types.is_numeric_dtype(right)
        if len(table) and left_num != right_num:
            raise SchemaError(
                f"join key {key!r}: the entity frame has dtype {left} but feature view {view_name!r} "
                f"has dtype {right}; cast one side so both are {'numbers' if right_num else 'text'}"
            )


def _duckdb_asof(entity: pd.DataFrame, table: pd.DataFrame, keys: list[str], columns: list[str], inclusive: bool) -> pd.DataFrame:
    import duckdb

    op = ">=" if inclusive else ">"
    on = " AND ".join([*(f'e."{k}" = m."{k}"' for k in keys), f"e.__t {op} m.__t"])
    selected = ", ".join(f'm."{c}"' for c in columns)
    query = f"SELECT e.__row, {selected} FROM entity e ASOF LEFT JOIN mat m ON {on} ORDER BY e.__row"
    with duckdb.connect(config={"threads": 2}) as con:
        con.register("entity", entity)
        con.register("mat", table)
        return con.sql(query).df()


def _check_entity_keys(view_name: str, keys: list[str], entity: pd.DataFrame, source: pd.DataFrame) -> None:
    missing = [k for k in keys if k not in entity.columns]
    if missing:
        raise SchemaError(
            f"feature view {view_name!r} joins on {keys}, but the entity frame lacks {missing}; "
            f"got {list(entity.columns)}"
        )
    _check_key_dtypes(view_name, keys, entity, source)


def asof_join_view(
    view_name: str,
    view: FeatureView,
    mat: MaterialisedView,
    entity: pd.DataFrame,
    entity_ns: np.ndarray,
    *,
    inclusive: bool,
) -> JoinResult:
    """Features of one view for every entity row (``entity`` holds the join keys, in order)."""
    keys = mat.keys
    _check_entity_keys(view_name, keys, entity, mat.frame)
    materialised = [f.name for f in view.features if f.name in mat.frame.columns]
    left = pd.DataFrame({k: plain_key(entity[k]) for k in keys})
    left["__t"] = entity_ns
    left["__row"] = np.arange(len(left), dtype=np.int64)
    joined = _duckdb_asof(left, mat.join_table, keys, ["__last", *materialised], inclusive)
    last = joined["__last"].to_numpy(dtype=np.float64, na_value=np.nan)
    return _finish(view, {name: joined[name] for name in materialised}, last, entity_ns)


def evaluate_view(
    view_name: str,
    view: FeatureView,
    prepared: ViewEvents,
    entity: pd.DataFrame,
    entity_ns: np.ndarray,
    *,
    inclusive: bool,
) -> tuple[JoinResult, dict[str, list[str]]]:
    """The same features as :func:`asof_join_view` gives after materialising, evaluated directly at
    the entity rows' times from the sorted source rows (and the category lists of text features).

    Why: materialising a view evaluates it at every moment a feature can change (each source row's
    time and each time a row leaves a window) and writes that table; when the entity rows are
    themselves events (every payment scored as of its own time) that is several times more work
    than evaluating at the entity times alone. The kernels are the same, so the values are too.
    """
    _check_entity_keys(view_name, prepared.keys, entity, prepared.frame)
    codes = prepared.entity_codes(entity)
    values, last_ns, categories = evaluate_features(view, prepared, codes, entity_ns, inclusive=inclusive)
    # as the as-of join reads it back: nanoseconds as float64, NaN where no source row is visible
    last = np.where(last_ns == np.iinfo(np.int64).min, np.nan, last_ns.astype(np.float64))
    return _finish(view, {name: pd.Series(column) for name, column in values.items()}, last, entity_ns), categories


def _finish(view: FeatureView, joined: dict[str, pd.Series], last: np.ndarray, entity_ns: np.ndarray) -> JoinResult:
    """TTL, decay to the entity time and the on-demand features, from the materialised values and
    the time of the latest visible source row (float ns, NaN where none)."""
    found = ~np.isnan(last)
    age_ns = entity_ns - np.nan_to_num(last, nan=0).astype(np.int64)  # since the latest event (read where found)
    ttl = view.ttl_timedelta
    stale = np.zeros(len(last), dtype=bool)
    if ttl is not None:
        stale = found & (age_ns > int(ttl.total_seconds() * 1e9))
    valid = found & ~stale

    out: dict[str, pd.Series | np.ndarray] = {}
    for feature in view.features:
        transform = feature.transform
        if feature.name in joined:
            values = joined[feature.name]
            out[feature.name] = values.where(valid) if values.dtype == object else np.where(valid, values.to_numpy(np.float64, na_value=np.nan), np.nan)
            if isinstance(transform, DecayTransform):  # stored as of the latest event: decay to the entity time
                half_life_ns = parse_duration(transform.half_life).total_seconds() * 1e9
                out[feature.name] = out[feature.name] * np.exp2(-np.where(valid, age_ns, 0) / half_life_ns)
        elif isinstance(transform, RecencyTransform):
            since = age_ns if transform.cycle is None else np.mod(age_ns, np.int64(parse_duration(transform.cycle).total_seconds() * 1e9))
            out[feature.name] = np.where(valid, since / _NS_PER[transform.unit], np.nan)
        elif isinstance(transform, RatioTransform):
            out[feature.name] = _safe_divide(out[transform.numerator], np.asarray(out[transform.denominator], dtype=np.float64) * transform.denominator_scale)
        elif isinstance(transform, ChangeTransform):
            out[feature.name] = _safe_divide(out[transform.recent], np.asarray(out[transform.baseline], dtype=np.float64) * transform.baseline_scale) - 1.0
        elif isinstance(transform, CalendarTransform):
            out[feature.name] = calendar_features(entity_ns, transform.part)
    return JoinResult(features=out, stale_rows=int(stale.sum()))


def _safe_divide(numerator, denominator: np.ndarray) -> np.ndarray:
    """Division where a zero or missing denominator gives NaN, never ±inf."""
    numerator = np.asarray(numerator, dtype=np.float64)
    ok = np.isfinite(denominator) & (denominator != 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, numerator / np.where(ok, denominator, 1.0), np.nan)


def calendar_features(entity_ns: np.ndarray, part: str) -> np.ndarray:
    """A calendar attribute of each entity time (as float so every feature column is numeric)."""
    stamps = pd.DatetimeIndex(entity_ns.astype("datetime64[ns]"))
    if part == "day_of_week":
        values = stamps.dayofweek
    elif part == "day_of_month":
        values = stamps.day
    elif part == "day_of_year":
        values = stamps.dayofyear
    elif part == "week_of_year":
        values = stamps.isocalendar().week.to_numpy()
    elif part == "month":
        values = stamps.month
    elif part == "quarter":
        values = stamps.quarter
    elif part == "is_weekend":
        values = stamps.dayofweek >= 5
    else:  # guarded by the config model's Literal
        raise ValueError(f"unknown calendar part {part!r}")
    return np.asarray(values, dtype=np.float64)


def cast_feature(values, dtype: str, categories: list[str] | None) -> pd.Series:
    """Give a joined feature its declared dtype; categories come from the whole source, so the
    codes of a category never depend on which rows a frame happens to hold."""
    series = pd.Series(values)
    if dtype == "float64":
        return series.astype(np.float64)
    if dtype == "int64":
        return series.astype("Int64")
    if dtype == "bool":
        return series.astype("boolean")
    if dtype == "category":
        return pd.Series(pd.Categorical(series.astype(object).where(series.notna(), None), categories=categories or []))
    return series.astype("string")


def check_entity_timestamps(entity_aware: bool, view_name: str, view_aware: bool, column: str, view_column: str) -> None:
    """Refuse to compare time-zone-aware with naive timestamps (naming both columns)."""
    if entity_aware != view_aware:
        raise PointInTimeError(
            f"the entity frame's {column!r} is {'time-zone aware' if entity_aware else 'naive'} but feature "
            f"view {view_name!r} column {view_column!r} is {'time-zone aware' if view_aware else 'naive'}; "
            "convert one side so both are the same kind"
        )
