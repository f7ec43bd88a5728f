"""Read a feature view's source and check it before anything is computed from it.

Every problem is reported with the view, the column and what was expected, never with data values.
Timestamps come out as int64 nanoseconds (UTC when the source is time-zone aware) so that joins
compare plain integers.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kpredict.errors import DataNotFoundError, PointInTimeError, SchemaError
from kpredict.features.definitions import FeatureRepoConfig, Source

__all__ = ["LoadedSource", "load_view_source", "read_source", "source_fingerprint", "to_epoch_ns"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedSource:
    """A view's rows with timestamps as int64 ns; ``tz_aware`` records what the source held."""

    frame: pd.DataFrame
    tz_aware: bool


def _connect():
    import duckdb

    return duckdb.connect(config={"threads": 2})


def _resolve(data_dir: Path, relative: str) -> Path:
    path = Path(relative)
    return path if path.is_absolute() else data_dir / path


def read_source(repo: FeatureRepoConfig, name: str, data_dir: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read source ``name`` of the repository as a pandas frame (only ``columns`` if given)."""
    source = repo.sources[name]
    if source.kind == "parquet":
        path = _resolve(data_dir, source.path)
        if not any(path.parent.glob(path.name)):
            raise DataNotFoundError(f"source {name!r}: parquet file {path} does not exist")
        if path.is_file():
            import pyarrow.parquet as pq

            schema_names = pq.read_schema(path).names
            wanted = [c for c in columns if c in schema_names] if columns is not None else None
            return pq.read_table(path, columns=wanted).to_pandas()
    if source.kind == "csv":
        path = _resolve(data_dir, source.path)
        if not path.is_file():
            raise DataNotFoundError(f"source {name!r}: CSV file {path} does not exist")
        header = pd.read_csv(path, nrows=0).columns
        wanted = [c for c in columns if c in header] if columns is not None else None
        return pd.read_csv(path, usecols=wanted)
    with _connect() as con:
        _register_sources(con, repo, data_dir, exclude=name)
        if source.kind == "duckdb":
            database = _resolve(data_dir, source.database)
            if not database.is_file():
                raise DataNotFoundError(f"source {name!r}: DuckDB database {database} does not exist")
            con.execute(f"ATTACH '{_sql_path(database)}' AS src_db (READ_ONLY)")
            query = f'SELECT * FROM src_db."{source.table}"'
        elif source.kind == "sql":
            query = source.query
        else:  # a parquet glob
            query = f"SELECT * FROM read_parquet('{_sql_path(_resolve(data_dir, source.path))}')"
        try:
            relation = con.sql(query)
        except Exception as exc:  # duckdb raises many types; re-raise as ours with the source named
            raise SchemaError(f"source {name!r}: the {source.kind} query failed: {type(exc).__name__}") from exc
        if columns is not None:
            keep = [c for c in columns if c in relation.columns]
            relation = relation.select(*[f'"{c}"' for c in keep])
        return relation.df()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _register_sources(con, repo: FeatureRepoConfig, data_dir: Path, exclude: str) -> None:
    """Expose every file source as a DuckDB view of its own name, for ``sql`` sources to use."""
    for other, spec in repo.sources.items():
        if other == exclude or spec.kind not in ("parquet", "csv"):
            continue
        path = _sql_path(_resolve(data_dir, spec.path))
        reader = "read_parquet" if spec.kind == "parquet" else "read_csv_auto"
        con.execute(f'CREATE VIEW "{other}" AS SELECT * FROM {reader}(\'{path}\')')


def source_fingerprint(source: Source, data_dir: Path, repo: FeatureRepoConfig | None = None) -> dict:
    """Cheap identity of a source's current content (size + mtime of files), to spot stale views.

    A ``sql`` source is identified by its query and the files of the sources it names (only file
    sources are visible to it); without ``repo`` it cannot be, and is marked ``volatile``.
    """
    if source.kind == "sql":
        if repo is None:
            return {"kind": "sql", "files": [], "volatile": True}
        named = [name for name, spec in sorted(repo.sources.items()) if spec.kind in ("parquet", "csv") and re.search(rf"\b{re.escape(name)}\b", source.query or "", re.IGNORECASE)]
        inputs = {name: source_fingerprint(repo.sources[name], data_dir)["files"] for name in named}
        return {"kind": "sql", "query": source.query, "files": inputs, "volatile": False}
    paths: list[Path] = []
    if source.kind in ("parquet", "csv"):
        path = _resolve(data_dir, source.path)
        paths = sorted(path.parent.glob(path.name))
    elif source.kind == "duckdb":
        paths = [_resolve(data_dir, source.database)]
    stats = []
    for path in paths:
        if path.exists():
            stat = path.stat()
            stats.append([str(path), stat.st_size, stat.st_mtime_ns])
    return {"kind": source.kind, "files": stats, "volatile": False}


def to_epoch_ns(values: pd.Series, *, what: str) -> tuple[np.ndarray, bool]:
    """Timestamps → int64 ns since the epoch (UTC for aware input) and whether they were aware.

    Raises:
        PointInTimeError: unparseable values, missing values, or a mix of aware and naive ones.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
        aware = True
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        converted = values
        aware = False
    elif values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        converted, aware = _parse_text_timestamps(values, what=what)
    else:
        raise PointInTimeError(f"{what} must hold timestamps; got dtype {values.dtype}")
    missing = int(converted.isna().sum())
    if missing:
        raise PointInTimeError(f"{what} has {missing} missing timestamp(s); every row needs a time")
    if aware:
        converted = converted.dt.tz_localize(None)
    return converted.to_numpy(dtype="datetime64[ns]").astype(np.int64), aware


def _parse_text_timestamps(values: pd.Series, *, what: str) -> tuple[pd.Series, bool]:
    non_null = values.dropna()
    if len(non_null) and non_null.map(lambda v: isinstance(v, pd.Timestamp)).all():
        zones = {v.tzinfo is not None for v in non_null}
    else:
        zones = set(non_null.astype(str).str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True))
    if len(zones) > 1:
        raise PointInTimeError(f"{what} mixes time-zone-aware and naive timestamps; use one kind")
    aware = True in zones
    try:
        parsed = pd.to_datetime(values, format="ISO8601", utc=aware)
    except (ValueError, TypeError):
        raise PointInTimeError(f"{what} has values that do not parse as ISO-8601 timestamps") from None
    return parsed, aware


def load_view_source(
    repo: FeatureRepoConfig, view_name: str, data_dir: Path, needed_columns: list[str], *, rows: pd.DataFrame | None = None
) -> LoadedSource:
    """Read and validate the rows of one view's source.

    ``rows``: the source's rows when the caller has read them already (several views over one
    source read it once).

    Raises:
        SchemaError: missing columns or null keys. PointInTimeError: bad timestamps.
        DataNotFoundError: the source file is absent.
    """
    view = repo.feature_views[view_name]
    frame = read_source(repo, view.source, data_dir, columns=needed_columns) if rows is None else rows
    missing = [c for c in needed_columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"feature view {view_name!r}: source {view.source!r} is missing columns {missing}; "
            f"got {list(frame.columns)}. Check configs/features.yaml or the data in {data_dir}."
        )
    keys = repo.join_keys(view_name)
    null_keys = {key: int(frame[key].isna().sum()) for key in keys if frame[key].isna().any()}
    if null_keys:
        raise SchemaError(f"feature view {view_name!r}: join key column(s) have missing values (counts: {null_keys})")
    event_ns, aware = to_epoch_ns(frame[view.event_timestamp], what=f"feature view {view_name!r}: column {view.event_timestamp!r}")
    frame = frame.assign(**{view.event_timestamp: event_ns})
    if view.created_timestamp:
        created_ns, created_aware = to_epoch_ns(
            frame[view.created_timestamp], what=f"feature view {view_name!r}: column {view.created_timestamp!r}"
        )
        if created_aware != aware:
            raise PointInTimeError(
                f"feature view {view_name!r}: column {view.event_timestamp!r} is "
                f"{'aware' if aware else 'naive'} but {view.created_timestamp!r} is "
                f"{'aware' if created_aware else 'naive'}; use one kind"
            )
        frame[view.created_timestamp] = created_ns
    logger.debug("read %d rows for feature view %s", len(frame), view_name)
    return LoadedSource(frame=frame, tz_aware=aware)
