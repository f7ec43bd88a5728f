"""Forecasting input rules: one row per (series, period), no gaps, no NaN targets — or a policy.

The rules scheduled forecasting jobs rely on (../shared/RELIABILITY.md, "Forecasting input"):
duplicates are an error naming up to five series; gaps are an error unless a fill policy is
configured; NaN targets are an error unless an imputation policy is configured. Messages name
series ids and columns, never target values.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["ID", "TIME", "TARGET", "demand_class", "integer_step", "prepare_series", "series_lengths"]

logger = logging.getLogger(__name__)

ID, TIME, TARGET = "unique_id", "ds", "y"

GapPolicy = Literal["error", "zero", "nan"]
NanPolicy = Literal["error", "zero", "interpolate", "drop"]


def _name_series(ids: pd.Index | np.ndarray, limit: int = 5) -> str:
    ids = list(pd.unique(np.asarray(ids)))
    shown = ", ".join(repr(str(i)) for i in ids[:limit])
    return f"{shown}{f' and {len(ids) - limit} more' if len(ids) > limit else ''}"


def prepare_series(
    frame: pd.DataFrame,
    *,
    freq: str | int,
    gaps: GapPolicy = "error",
    missing_target: NanPolicy = "error",
    extra_columns: list[str] | None = None,
) -> pd.DataFrame:
    """Validate and normalise a Nixtla long frame (``unique_id``, ``ds``, ``y``) on ``freq``.

    Args:
        freq: pandas frequency of every series ("D", "W-MON", "MS", "QS", "YS"...), or a positive
            integer step when ``ds`` holds positions rather than dates (competition data such as
            M1 has none: ``freq=1``), as statsforecast takes it.
        gaps: "error" (default) names the series with missing periods; "zero" fills them with 0
            (sales that did not happen); "nan" inserts them and leaves ``missing_target`` to decide.
        missing_target: "error" (default), "zero", "interpolate" (linear within the series, ends
            carried) or "drop" (rows removed; only with gaps="nan" is this then a gap again).
        extra_columns: further columns kept (covariates); gap rows get NaN there.

    Returns:
        The frame sorted by (unique_id, ds) with a fresh index; ``unique_id`` as str.

    Raises:
        SchemaError: missing columns, unparseable dates, dates off the frequency, duplicates,
            gaps or NaN targets without a policy.
    """
    extra_columns = list(extra_columns or [])
    needed = [ID, TIME, TARGET, *extra_columns]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise SchemaError(f"forecasting input lacks column(s) {missing}; it has {list(frame.columns)}")
    out = frame[needed].copy()
    if out[ID].isna().any():
        raise SchemaError(f"column {ID!r} has {int(out[ID].isna().sum())} missing series id(s)")
    out[ID] = out[ID].astype(str)
    if out[TIME].isna().any():
        raise SchemaError(f"column {TIME!r} has {int(out[TIME].isna().sum())} missing date(s)")
    step = integer_step(freq)
    if step is None:
        try:
            out[TIME] = pd.to_datetime(out[TIME])
        except (ValueError, TypeError):
            raise SchemaError(f"column {TIME!r} must hold dates; some values cannot be parsed") from None
    else:
        out[TIME] = _integer_positions(out[TIME], step)
    if not pd.api.types.is_numeric_dtype(out[TARGET]):
        converted = pd.to_numeric(out[TARGET], errors="coerce")
        if converted.isna().sum() > out[TARGET].isna().sum():
            raise SchemaError(f"column {TARGET!r} must be numeric; it has dtype {out[TARGET].dtype} with non-numeric values")
        out[TARGET] = converted
    out[TARGET] = out[TARGET].astype(np.float64)
    if np.isinf(out[TARGET].to_numpy()).any():
        bad = out.loc[np.isinf(out[TARGET].to_numpy()), ID]
        raise SchemaError(f"column {TARGET!r} holds ±inf in series {_name_series(bad)}")

    if step is None:
        offset = pd.tseries.frequencies.to_offset(freq)
        off_grid = ~out[TIME].map(offset.is_on_offset).to_numpy(dtype=bool) if len(out) else np.zeros(0, bool)
    else:
        offset = step
        first = out.groupby(ID, sort=False)[TIME].transform("min").to_numpy()
        off_grid = (out[TIME].to_numpy() - first) % step != 0
    if off_grid.any():
        raise SchemaError(
            f"column {TIME!r} has {int(off_grid.sum())} date(s) that are not on the frequency {freq!r} "
            f"(series {_name_series(out.loc[off_grid, ID])})"
        )

    out = out.sort_values([ID, TIME], kind="stable").reset_index(drop=True)
    duplicated = out.duplicated([ID, TIME], keep=False).to_numpy()
    if duplicated.any():
        raise SchemaError(
            f"{int(duplicated.sum())} rows share a (series, date) with another row, in series "
            f"{_name_series(out.loc[duplicated, ID])}; aggregate them before forecasting"
        )

    out = _handle_gaps(out, offset, gaps, extra_columns)
    return _handle_missing_target(out, missing_target)


def _handle_gaps(out: pd.DataFrame, offset, gaps: GapPolicy, extra_columns: list[str]) -> pd.DataFrame:
    if out.empty:
        return out
    bounds = out.groupby(ID, sort=False)[TIME].agg(["min", "max", "size"])
    expected = np.array([len(_periods(lo, hi, offset)) for lo, hi in zip(bounds["min"], bounds["max"])])
    gapped = bounds.index[expected != bounds["size"].to_numpy()]
    if len(gapped) == 0:
        return out
    if gaps == "error":
        raise SchemaError(
            f"{len(gapped)} series have missing periods between their first and last date "
            f"({_name_series(gapped)}); fill them upstream or set the gap policy (series.gaps: zero | nan)"
        )
    logger.info("filling missing periods in %d series with %s", len(gapped), "0" if gaps == "zero" else "NaN")
    full = pd.concat(
        [
            pd.DataFrame({ID: uid, TIME: _periods(bounds.at[uid, "min"], bounds.at[uid, "max"], offset)})
            for uid in gapped
        ]
    )
    filled = full.merge(out[out[ID].isin(gapped)], on=[ID, TIME], how="left")
    if gaps == "zero":
        filled[TARGET] = filled[TARGET].fillna(0.0)
    return pd.concat([out[~out[ID].isin(gapped)], filled]).sort_values([ID, TIME], kind="stable").reset_index(drop=True)


def integer_step(freq: str | int) -> int | None:
    """The step of an integer time index (``freq=1``), or None for a pandas date frequency."""
    if isinstance(freq, bool):
        raise SchemaError(f"freq must be a pandas frequency such as 'D' or 'MS', or a positive integer; got {freq!r}")
    if isinstance(freq, (int, np.integer)):
        if freq < 1:
            raise SchemaError(f"an integer freq is the step between positions and must be at least 1; got {freq}")
        return int(freq)
    return None


def _integer_positions(times: pd.Series, step: int) -> pd.Series:
    """``ds`` as int64 positions; whole-number floats (a CSV column with gaps) are accepted."""
    if pd.api.types.is_datetime64_any_dtype(times):
        raise SchemaError(f"column {TIME!r} holds dates but freq={step} is an integer step; give a pandas frequency such as 'D' or 'MS'")
    values = pd.to_numeric(times, errors="coerce")
    if values.isna().any() or not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
        raise SchemaError(f"column {TIME!r} must hold whole-number positions with freq={step}; some values are not integers (dates need a pandas frequency such as 'D')")
    return values.astype(np.int64)


def _periods(first, last, offset):
    """Every period from ``first`` to ``last``: dates on a pandas offset, or integer positions."""
    if isinstance(offset, int):
        return np.arange(first, last + 1, offset, dtype=np.int64)
    return pd.date_range(first, last, freq=offset)


def _handle_missing_target(out: pd.DataFrame, policy: NanPolicy) -> pd.DataFrame:
    nan = out[TARGET].isna().to_numpy()
    if not nan.any():
        return out
    if policy == "error":
        raise SchemaError(
            f"column {TARGET!r} has {int(nan.sum())} missing value(s) in series {_name_series(out.loc[nan, ID])}; "
            "clean them upstream or set the imputation policy (series.missing_target: zero | interpolate | drop)"
        )
    logger.info("imputing %d missing target value(s) with policy %r", int(nan.sum()), policy)
    if policy == "zero":
        out[TARGET] = out[TARGET].fillna(0.0)
    elif policy == "interpolate":
        out[TARGET] = out.groupby(ID, sort=False)[TARGET].transform(lambda s: s.interpolate(limit_direction="both"))
        if out[TARGET].isna().any():
            raise SchemaError(f"series {_name_series(out.loc[out[TARGET].isna(), ID])} have no observed target to interpolate from")
    else:
        out = out[~nan].reset_index(drop=True)
    return out


def series_lengths(frame: pd.DataFrame) -> pd.Series:
    """Observations per series."""
    return frame.groupby(ID, sort=True).size()


def demand_class(frame: pd.DataFrame, *, adi_cut: float = 1.32, cv2_cut: float = 0.49) -> pd.Series:
    """Syntetos–Boylan class per series: smooth, erratic, intermittent or lumpy.

    ADI is the average interval between non-zero demands; CV² the squared coefficient of
    variation of the non-zero sizes. Intermittent and lumpy series get the intermittent-demand
    model family (Croston SBA, ADIDA, IMAPA, TSB).
    """
    y = frame[TARGET].to_numpy()
    ids = frame[ID].to_numpy()
    stats = pd.DataFrame({ID: ids, "nonzero": y != 0, "y": np.where(y != 0, y, np.nan)})
    grouped = stats.groupby(ID, sort=True)
    n = grouped.size()
    nonzero = grouped["nonzero"].sum()
    adi = n / nonzero.where(nonzero > 0)
    mean = grouped["y"].mean()
    std = grouped["y"].std(ddof=0)
    cv2 = (std / mean) ** 2
    intermittent = adi.fillna(np.inf) >= adi_cut
    variable = cv2.fillna(0.0) >= cv2_cut
    label = np.select([~intermittent & ~variable, ~intermittent & variable, intermittent & ~variable], ["smooth", "erratic", "intermittent"], "lumpy")
    return pd.Series(label, index=n.index, name="demand_class")
