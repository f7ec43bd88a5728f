"""Read a features table a user or an upstream job handed over (``kpredict score --input``).

Upstream jobs hand over what they have: an empty file, a parquet file named ``.csv``, a gzipped
CSV, a file cut short by a full disk, a spreadsheet saved with another delimiter. Each gets one
line naming the file and what was expected (exit 2), not a traceback from the parser. A UTF-8
byte-order mark (Excel's "CSV UTF-8") is accepted: it is a valid way to write UTF-8.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from kpredict.errors import DataNotFoundError, SchemaError, StorageError

__all__ = ["read_features_table", "read_table"]

_PARQUET_MAGIC = b"PAR1"
_COMPRESSED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\x28\xb5\x2f\xfd": "zstd", b"\xfd7zXZ": "xz"}
_OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}


def read_features_table(path: str | Path) -> pd.DataFrame:
    """The features table in ``path`` (``.parquet`` or ``.csv``); see :func:`read_table`."""
    return read_table(path, role="input file")


def read_table(path: str | Path, *, role: str = "input file") -> pd.DataFrame:
    """The table in ``path`` (``.parquet`` or ``.csv``), or SchemaError naming the file and the problem.

    Args:
        role: what the file is, as the user would say it ("input file", "scenario file").
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{role} {path} does not exist" + (" (it is a folder)" if path.is_dir() else ""))
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise SchemaError(f"{role} {path.name!r} must end with .parquet or .csv; got {path.suffix!r}")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise StorageError(f"cannot read {role} {path}: {exc.strerror or exc}") from None
    if not head:
        raise SchemaError(f"{role} {path} is empty; expected a {suffix[1:]} table with a header")
    for magic, kind in _COMPRESSED.items():
        if head.startswith(magic):
            raise SchemaError(f"{role} {path} is {kind}-compressed; expected an uncompressed {suffix[1:]} file (decompress it first)")
    if suffix == ".parquet":
        return _read_parquet(path, head, role)
    if head.startswith(_PARQUET_MAGIC):
        raise SchemaError(f"{role} {path} is a parquet file named .csv; rename it to .parquet")
    return _read_csv(path, role)


def _read_parquet(path: Path, head: bytes, role: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not head.startswith(_PARQUET_MAGIC):
        hint = "; it looks like text (a CSV named .parquet?)" if _looks_like_text(head) else ""
        raise SchemaError(f"{role} {path} is not a parquet file (no parquet header){hint}; expected a parquet table")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise SchemaError(f"{role} {path} cannot be read as parquet (truncated or damaged?): {_first_line(exc)}") from None
    nested = [f.name for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise SchemaError(f"{role} {path} has nested columns {nested} (lists, structs or maps); expected one number or text per cell")
    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SchemaError(f"{role} {path} cannot be read as parquet (truncated or damaged?): {_first_line(exc)}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__


def _read_csv(path: Path, role: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise SchemaError(f"{role} {path} is not UTF-8 text; expected a UTF-8 CSV (save it as 'CSV UTF-8')") from None
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{role} {path} has no header row; expected a CSV whose first line names the columns") from None
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        raise SchemaError(f"{role} {path} cannot be parsed as comma-separated values: {_first_line(exc)}") from None
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for delimiter, name in _OTHER_DELIMITERS.items():
            if delimiter in header:
                raise SchemaError(f"{role} {path} looks separated by {name}; expected comma-separated values")
    return frame


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch >= 9 for ch in head)
