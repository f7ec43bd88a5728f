"""Atomic file writes: a crash mid-write leaves the previous file (or none), never a partial one.

Each writer writes a temporary file in the target's own directory (same file system, so the final
``os.replace`` is atomic) and removes it if anything fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from kpredict.errors import StorageError

__all__ = ["atomic_path", "storage_error", "write_parquet", "write_text"]

# Read once at import: os.umask can only be read by setting it, which is not thread-safe later.
_UMASK = os.umask(0)
os.umask(_UMASK)


def storage_error(path: Path, exc: OSError, action: str = "write") -> StorageError:
    """One line naming the path and the cause: what a scheduler log needs, not a traceback.

    A StorageError from a lower level (a staged file) is re-said for ``path`` with its cause.
    """
    cause = getattr(exc, "cause", None) or exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        cause = "no space left on the device"
    elif exc.errno == errno.EROFS:
        cause = "the file system is read-only"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        cause = "permission denied"
    error = StorageError(f"cannot {action} {path}: {cause}")
    error.cause = cause
    return error


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    Raises:
        StorageError: the folder cannot be created or written, or the disk is full; one line
            naming ``path`` and the cause. The previous file is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        raise storage_error(path, exc) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        os.replace(tmp, path)
    except StorageError:
        raise
    except OSError as exc:
        raise storage_error(path, exc) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_parquet(frame: pd.DataFrame, path: str | Path, *, compression: str = "zstd") -> None:
    """Write ``frame`` (without its index) so that the same frame always gives the same bytes.

    pandas' schema metadata records library versions; we drop it so bytes depend on data only.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=compression)


def write_text(text: str, path: str | Path) -> None:
    """Write UTF-8 text atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
