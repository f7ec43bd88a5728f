"""Atomic writes of the demo files and the small array-to-Arrow helpers every domain module shares.

Why atomic: a reader (or a crashed run) must never see a half-written parquet file
(``kpredict.io.atomic_path``: a temporary file in the final folder, then ``os.replace``).

Why Arrow tables built from arrays (not pandas): fixed column types (``timestamp[ns]``, ``string``,
``int64``...), no index and no pandas metadata, so the bytes depend only on the data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kpredict.io import atomic_path, write_text

__all__ = [
    "format_ids",
    "strings",
    "timestamps",
    "write_json_atomic",
    "write_parquet_atomic",
]


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` as zstd parquet at ``path``, atomically."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON with sorted keys (stable bytes), atomically."""
    write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n", path)


def strings(codes: np.ndarray, categories: list[str] | tuple[str, ...] | np.ndarray) -> pa.Array:
    """A plain ``string`` column from integer codes into ``categories``.

    Going through a dictionary array avoids materialising millions of Python strings.
    """
    dictionary = pa.array(list(categories), type=pa.string())
    indices = pa.array(np.asarray(codes, dtype=np.int32))
    return pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())


def format_ids(prefix: str, width: int, count: int) -> list[str]:
    """``count`` fixed-width ids: ``format_ids("S", 3, 2) == ["S001", "S002"]``."""
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def timestamps(values: np.ndarray) -> pa.Array:
    """A tz-naive ``timestamp[ns]`` column; ``NaT`` becomes null."""
    values = np.asarray(values).astype("datetime64[ns]")
    return pa.array(values, type=pa.timestamp("ns"), from_pandas=True)
