"""The budget pipeline's data: spend, KPI and controls from the feature store, and the model's
design columns (carry-over lags, trend, season, controls) built the same way for training and
scoring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from kpredict.pipelines.budget.config import BudgetConfig

from kpredict.errors import DataNotFoundError, SchemaError
from kpredict.features.sources import read_source
from kpredict.modeling.media import lag_frame

__all__ = ["Design", "design", "load_lift_tests", "load_marketing", "time_controls"]

_LIFT_COLUMNS = ("channel", "start", "end", "spend_change", "lift", "lift_se")
_LIFT_WEEKS = ("start", "end", "measured_from", "measured_to")


def load_marketing(config: BudgetConfig, store: Any, *, before: pd.Timestamp | None = None) -> pd.DataFrame:
    """The source rows with channel spend renamed to the channel names, in time order.

    Raises:
        SchemaError: a configured column is missing, a week appears twice, or the KPI is not numeric.
        DataNotFoundError: no rows (before ``before``).
    """
    raw = read_source(store.repo, config.source, store.data_dir)
    needed = [*config.channels.values(), config.kpi_column, *config.controls, *([config.time_column] if config.time_column else [])]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise SchemaError(
            f"source {config.source!r} lacks column(s) {missing} (channels / kpi_column / controls / time_column in the budget config); "
            f"it has {list(raw.columns)}"
        )
    frame = raw[[*([config.time_column] if config.time_column else []), config.kpi_column, *config.controls]].copy()
    for channel, column in config.channels.items():
        frame[channel] = raw[column]
    if config.time_column:
        frame[config.time_column] = pd.to_datetime(frame[config.time_column])
        duplicated = frame[config.time_column].duplicated()
        if duplicated.any():
            raise SchemaError(f"source {config.source!r} has {int(duplicated.sum())} repeated {config.time_column!r} value(s); one row per week is expected")
        frame = frame.sort_values(config.time_column)
        if before is not None:
            frame = frame[frame[config.time_column] < before]
    if frame.empty:
        raise DataNotFoundError(f"source {config.source!r} has no rows" + (f" before {before.date()}" if before is not None else ""))
    for column in [config.kpi_column, *config.controls]:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.isna().any():
            raise SchemaError(f"column {column!r} of source {config.source!r} has {int(values.isna().sum())} missing or non-numeric value(s)")
        frame[column] = values.astype(np.float64)
    return frame.reset_index(drop=True)


def time_controls(weeks: pd.Series, origin: pd.Timestamp, *, trend: bool, fourier_order: int) -> pd.DataFrame:
    """Trend (years since ``origin``) and yearly sine/cosine pairs of each week's day of the year."""
    out = pd.DataFrame(index=weeks.index)
    stamps = pd.to_datetime(weeks)
    if trend:
        out["trend"] = (stamps - origin).dt.days.to_numpy() / 365.25
    day = stamps.dt.dayofyear.to_numpy()
    for k in range(1, fourier_order + 1):
        out[f"season_sin{k}"] = np.sin(2 * np.pi * k * day / 365.25)
        out[f"season_cos{k}"] = np.cos(2 * np.pi * k * day / 365.25)
    return out


@dataclass
class Design:
    """The model's input columns per row, the KPI, and the names the model reads."""

    X: pd.DataFrame
    y: np.ndarray
    channels: list[str]
    controls: list[str]
    max_lag: int


def design(config: BudgetConfig, frame: pd.DataFrame, origin: pd.Timestamp | None) -> Design:
    """Lag columns of every channel (none without a time order), time controls and the configured controls."""
    channels = list(config.channels)
    max_lag = config.carryover.max_lag if config.time_column else 0
    parts = [lag_frame(frame, channels, max_lag)]
    controls = list(config.controls)
    if config.time_column:
        timed = time_controls(frame[config.time_column], origin if origin is not None else frame[config.time_column].min(), trend=config.trend, fourier_order=config.fourier_order)
        parts.append(timed)
        controls = [*timed.columns, *controls]
    parts.append(frame[list(config.controls)])
    X = pd.concat(parts, axis=1)
    return Design(X, frame[config.kpi_column].to_numpy(dtype=np.float64), channels, controls, max_lag)


def load_lift_tests(config: BudgetConfig, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The configured lift experiments with their weeks as row positions of ``frame`` (None: none configured).

    Why weeks, not positions: people record an experiment by its dates; a week must be one of the
    data's weeks, so a test outside the data (or a typo) fails here, naming the file and the row.

    Raises:
        DataNotFoundError: no such file. SchemaError: a missing column, an unknown week, an unknown
        channel, or a lift / standard error that is not a number.
    """
    if config.lift_tests is None:
        return None
    from pathlib import Path

    from kpredict.scoring.input_file import read_table

    path = Path(config.lift_tests)
    if not path.is_absolute():
        path = Path(config.data_dir) / path
    try:
        tests = read_table(path, role="lift tests file")
    except DataNotFoundError as exc:  # the repository config names the demo's file: say how to go without
        raise DataNotFoundError(f"{exc}; set lift_tests: null in the budget config when there are no experiments") from None
    missing = [c for c in _LIFT_COLUMNS if c not in tests.columns]
    if missing:
        raise SchemaError(f"lift tests file {path.name!r} lacks column(s) {missing}; expected {list(_LIFT_COLUMNS)} (+ measured_from, measured_to)")
    unknown = sorted({str(c) for c in tests["channel"]} - set(config.channels))
    if unknown:
        raise SchemaError(f"lift tests file {path.name!r} names unknown channel(s) {unknown}; the channels are {list(config.channels)}")
    weeks = pd.to_datetime(frame[config.time_column]).reset_index(drop=True)
    position = pd.Series(np.arange(len(weeks)), index=weeks.to_numpy())
    out = tests.copy()
    for column in [c for c in _LIFT_WEEKS if c in tests.columns]:
        stamps = pd.to_datetime(tests[column], errors="coerce")
        unknown_rows = [i for i, stamp in enumerate(stamps) if pd.isna(stamp) or stamp not in position.index]
        if unknown_rows:
            first = unknown_rows[0]
            raise SchemaError(
                f"lift tests file {path.name!r}, row {first + 1}: {column} {tests[column].iloc[first]!r} is not one of the data's weeks "
                f"({config.time_column} from {weeks.iloc[0].date()} to {weeks.iloc[-1].date()})"
            )
        out[column] = position.loc[stamps.to_numpy()].to_numpy()
    for column in ("spend_change", "lift", "lift_se"):
        values = pd.to_numeric(tests[column], errors="coerce")
        if not np.isfinite(values).all():
            raise SchemaError(f"lift tests file {path.name!r}: column {column!r} must hold a number in every row")
        out[column] = values.astype(np.float64)
    out["channel"] = out["channel"].astype(str)
    return out.reset_index(drop=True)
