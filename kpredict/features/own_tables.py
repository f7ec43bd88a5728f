"""What every pipeline's own-table path (``--table``) shares: feature-store names for a table's
columns, its time column read as timestamps with an error naming the option, and the typed copy
written once into the feature store, named by its content."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["column_name", "read_timestamps", "write_once"]


def column_name(column: object, taken: set[str]) -> str:
    """A name of letters, digits and underscores for a column such as 'Account length', not in ``taken``
    (which it joins)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", str(column)).strip("_") or "column"
    if name[0].isdigit():
        name = f"c_{name}"
    base, count = name, 2
    while name in taken:
        name, count = f"{base}_{count}", count + 1
    taken.add(name)
    return name


def read_timestamps(values: pd.Series, *, what: str, option: str, fmt: str | None = None, hint: str = "") -> pd.Series:
    """``values`` as tz-naive datetime64[ns], or a SchemaError naming ``what`` (the table) and
    ``option``, then ``hint`` (how to say the format, where the table's options can)."""
    try:
        stamps = pd.to_datetime(values, format=fmt)
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{what}: {option} column {values.name!r} is not dates ({exc}){hint}") from None
    if stamps.isna().any():
        raise SchemaError(f"{what}: {option} column {values.name!r} is empty in {int(stamps.isna().sum())} row(s)")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert(None)
    return stamps.astype("datetime64[ns]")


def write_once(frame: pd.DataFrame, directory: str | Path, stem: str) -> Path:
    """``directory/<stem>-<content hash>.parquet``, written only when no such file exists: a table
    read again gives the same file, and a model's lineage names the content it learnt from."""
    from kpredict.hashing import frame_hash
    from kpredict.io import write_parquet

    path = Path(directory) / f"{stem}-{frame_hash(frame)[:16]}.parquet"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_parquet(frame, path)
    return path
