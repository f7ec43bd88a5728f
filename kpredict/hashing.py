"""Content hashes that identify data, files and definitions across processes.

Why our own: MLflow's dataset digest samples rows, so two inputs that differ in one row can share a
digest. These hashes read every row, are stable across processes and machines (pandas' row hash
uses a fixed key) and change when a column name, dtype or value changes.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["file_hash", "frame_hash", "object_hash"]

_CHUNK = 1 << 20


def frame_hash(frame: pd.DataFrame) -> str:
    """Full-data SHA-256 of a data frame: column names, dtypes and every value, in row order.

    The index is ignored (it is an artefact of how the frame was built, not data).
    """
    digest = hashlib.sha256()
    header = [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]
    digest.update(json.dumps(header).encode())
    digest.update(str(len(frame)).encode())
    if len(frame.columns) and len(frame):
        for start in range(0, len(frame), 1_000_000):
            part = frame.iloc[start : start + 1_000_000]
            rows = pd.util.hash_pandas_object(part, index=False, categorize=True)
            digest.update(np.ascontiguousarray(rows.to_numpy(dtype=np.uint64)).tobytes())
    return digest.hexdigest()


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks so large files use bounded memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def object_hash(obj: Any) -> str:
    """SHA-256 of a JSON-serialisable object in canonical form (sorted keys, no whitespace)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
