"""Atomic writes of the demo files and the small array-to-Arrow helpers every domain module shares.

Why atomic: a reader (or a crashed run) must never see a half-written parquet file. Each file is
written under a hidden temporary name in its final folder and moved into place with ``os.replace``,
which is atomic on one file system.

Why Arrow tables built from arrays (not pandas): fixed column types (``timestamp[ns]``, ``string``,
``int64``...), no index and no pandas metadata, so the bytes depend only on the data.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "format_ids",
    "strings",
    "timestamps",
    "write_json_atomic",
    "write_parquet_atomic",
]


def _write_atomic(path: Path, write: Callable[[str], None]) -> None:
    """Run ``write(temp_path)`` then move the temporary file onto ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    """Write ``table`` as zstd parquet at ``path``, atomically."""
    _write_atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON with sorted keys (stable bytes), atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"

    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    _write_atomic(path, write)


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
