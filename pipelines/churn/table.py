"""A data scientist's own labelled table in: the churn pipeline without a hand-written feature repository.

The table (one row per customer, or per customer and date) is read once, its columns typed the way a
data scientist would by hand — numbers stay numbers, numbers stored as text (blank for missing) become
numbers, yes/no and other labels become categories, identifiers and constants are left out and said
so — and written to the feature store as a prepared parquet file named by its content. A feature view
with one ``latest`` feature per column is declared over it, so training and scoring go through the
same point-in-time join as every other pipeline. The column typing is recorded in the model and
applied unchanged to the tables it later scores.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import DataNotFoundError, SchemaError
from kpredict.features import FeatureRepoConfig, FeatureStore
from kpredict.features.own_tables import column_name, read_timestamps, write_once
from kpredict.pipelines.churn.config import TableConfig
from kpredict.pipelines.churn.labels import ENTITY_TS

__all__ = ["TABLE_VIEW", "TableSchema", "prepare_table", "read_table", "table_labels", "table_store"]

logger = logging.getLogger(__name__)

TABLE_VIEW = "customer_table"
KEY = "customer_id"
#: the time every row of a table without a time column describes (any scoring date comes after it)
TIMELESS = pd.Timestamp("1970-01-01")
#: (churned, stayed) spellings of a two-valued target, lower case; values must keep to one pair
_SPELLINGS = [({"1"}, {"0"}), ({"true", "t"}, {"false", "f"}), ({"yes", "y"}, {"no", "n"})]

TableSchema = list[dict[str, str]]  # [{"column": source name, "name": feature name, "dtype": float64|category}]


def read_table(path: str | Path) -> pd.DataFrame:
    """The table at ``path`` (.parquet or .csv), or a clear error naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"churn table {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".csv":
        return pd.read_csv(path)
    raise SchemaError(f"churn table {path}: expected a .parquet or .csv file, got {suffix or 'no extension'!r}")


def _require_columns(frame: pd.DataFrame, table: TableConfig, *, with_target: bool) -> None:
    named = {"--target": table.target if with_target else None, "--id": table.id, "--time": table.time}
    missing = [f"{option} {column!r}" for option, column in named.items() if column is not None and column not in frame.columns]
    if missing:
        raise SchemaError(f"churn table {table.path} has no column {', '.join(missing)}; its columns: {list(frame.columns)}")


def _numbers_in_text(values: pd.Series) -> pd.Series | None:
    """The column as numbers when every non-blank value is one (blank: missing), else None."""
    text = values.astype("string").str.strip()
    text = text.mask(text == "")
    numbers = pd.to_numeric(text, errors="coerce")
    return numbers.astype(np.float64) if bool((numbers.notna() == text.notna()).all()) else None


def _as_read(values: pd.Series) -> pd.Series:
    """The column as a feature would hold it: numbers stored as text as numbers (a customer number
    written as text is still one number per row)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    numbers = _numbers_in_text(values)
    return values if numbers is None else numbers


def infer_schema(frame: pd.DataFrame, table: TableConfig) -> tuple[TableSchema, dict[str, str]]:
    """(which columns become features and as what, column left out → why); prints each column left out.

    ``table.drop`` leaves columns out; ``table.keep`` keeps a column that looks like an identifier.
    """
    from kpredict.features.identifiers import identifier_reason
    from kpredict.progress import note

    named = [*table.keep, *table.drop]
    unknown = [c for c in named if c not in frame.columns]
    if unknown:
        raise SchemaError(f"churn table {table.path}: --keep/--drop name column(s) {unknown} it does not have; its columns: {list(frame.columns)}")
    reserved = {c for c in (table.target, table.id, table.time) if c is not None}
    schema: TableSchema = []
    left_out: dict[str, str] = {}
    taken: set[str] = {KEY, ENTITY_TS, "churned"}
    for column in frame.columns:
        if column in reserved:
            continue
        values = frame[column]
        reason = None
        if column in table.drop:
            reason = "--drop"
        elif pd.api.types.is_datetime64_any_dtype(values):
            reason = "holds dates (give it as --time if it is the row's date)"
        elif values.nunique(dropna=True) <= 1:
            reason = "has one value only"
        elif column not in table.keep and (why := identifier_reason(_as_read(values))):
            reason = f"looks like an identifier or a name: {why} (--keep {column} uses it)"
        if reason is not None:
            left_out[str(column)] = reason
            continue
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            dtype = "float64"
        elif _numbers_in_text(values) is not None:
            dtype = "float64"
            logger.info("churn table: column %r is numbers stored as text; read as numbers (blank: missing)", column)
        else:
            dtype = "category"
        schema.append({"column": str(column), "name": column_name(column, taken), "dtype": dtype})
    for column, reason in left_out.items():
        note(f"churn table: column {column!r} is not used as a feature: {reason}")
    if not schema:
        raise SchemaError(f"churn table {table.path}: no column is usable as a feature besides the key, time and target")
    return schema, left_out


def _typed(values: pd.Series, dtype: str) -> pd.Series:
    if dtype == "float64":
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            return values.astype(np.float64)
        numbers = _numbers_in_text(values)
        if numbers is None:
            raise SchemaError(f"churn table column {values.name!r} was numbers when the model was trained; now it holds text")
        return numbers
    text = values.astype("string").str.strip()
    return text.astype(object).where(text.notna() & (text != ""), None)  # blank text is missing


def _timestamps(frame: pd.DataFrame, table: TableConfig) -> pd.Series:
    if table.time is None:
        return pd.Series(TIMELESS, index=frame.index, dtype="datetime64[ns]")
    return read_timestamps(frame[table.time], what=f"churn table {table.path}", option="--time")


def prepare_table(frame: pd.DataFrame, table: TableConfig, schema: TableSchema) -> pd.DataFrame:
    """``customer_id, event_timestamp`` + one typed column per feature, in the table's row order."""
    _require_columns(frame, table, with_target=False)
    missing = [item["column"] for item in schema if item["column"] not in frame.columns]
    if missing:
        raise SchemaError(f"churn table {table.path} lacks column(s) {missing} that the model was trained on")
    prepared = pd.DataFrame({KEY: table_keys(frame, table), ENTITY_TS: _timestamps(frame, table)})
    duplicated = prepared.duplicated([KEY, ENTITY_TS])
    if duplicated.any():
        example = prepared.loc[duplicated, KEY].iloc[0]
        where = f"on the same {table.time!r}" if table.time else "(give --time if rows describe different dates)"
        raise SchemaError(f"churn table {table.path}: customer {example!r} has more than one row {where}; {int(duplicated.sum())} duplicate(s)")
    for item in schema:
        prepared[item["name"]] = _typed(frame[item["column"]], item["dtype"]).to_numpy()
    return prepared.reset_index(drop=True)


def table_keys(frame: pd.DataFrame, table: TableConfig) -> np.ndarray:
    """Each row's customer key as text: the ``--id`` column, or the row number from 1 without one."""
    keys = frame[table.id].astype("string") if table.id is not None else pd.Series(np.arange(1, len(frame) + 1), index=frame.index).astype("string")
    if keys.isna().any():
        raise SchemaError(f"churn table {table.path}: --id column {table.id!r} is empty in {int(keys.isna().sum())} row(s)")
    return keys.astype(object).to_numpy()


def table_outcomes(path: str | Path, recorded: dict[str, Any]) -> pd.DataFrame:
    """``customer_id, churned`` from a later copy of the training table (id, target and churned
    value as the model recorded them); with a time column, each customer's latest row."""
    table = TableConfig(path=str(path), target=recorded["target"], id=recorded.get("id"), time=recorded.get("time"), positive=recorded.get("positive"))
    frame = read_table(path)
    _require_columns(frame, table, with_target=True)
    outcomes = pd.DataFrame({KEY: table_keys(frame, table), "churned": table_labels(frame, table)})
    if table.time is not None:
        outcomes["_time"] = _timestamps(frame, table)
        outcomes = outcomes.sort_values("_time", kind="mergesort").drop_duplicates(KEY, keep="last").drop(columns="_time")
    return outcomes.reset_index(drop=True)


def table_labels(frame: pd.DataFrame, table: TableConfig) -> np.ndarray:
    """The target as 0/1, or a clear error saying what values it has and how to name the churned one."""
    _require_columns(frame, table, with_target=True)
    values = frame[table.target]
    if values.isna().any():
        raise SchemaError(f"churn table {table.path}: --target column {table.target!r} is empty in {int(values.isna().sum())} row(s)")
    text = values.astype(str).str.strip()
    if table.positive is not None:
        if not (text == table.positive).any():
            raise SchemaError(f"churn table {table.path}: --positive {table.positive!r} never occurs in {table.target!r}; its values: {sorted(text.unique())[:10]}")
        return (text == table.positive).to_numpy(dtype=np.int8)
    lowered = text.str.lower().replace({"1.0": "1", "0.0": "0"})
    distinct = set(lowered.unique())
    for churned, stayed in _SPELLINGS:
        if distinct <= churned | stayed:
            return lowered.isin(churned).to_numpy(dtype=np.int8)
    raise SchemaError(
        f"churn table {table.path}: --target column {table.target!r} has values {sorted(text.unique())[:10]}; "
        "expected 0/1, true/false or yes/no, or say which value means churned with --positive"
    )


def table_repo(schema: TableSchema, prepared_path: Path, table: TableConfig) -> FeatureRepoConfig:
    """The feature repository behind the scenes: one entity, one source (the prepared file), one view."""
    features = [
        {
            "name": item["name"],
            "transform": {"kind": "latest", "column": item["name"]},
            "dtype": item["dtype"],
            "description": {"en": item["column"], "zh": item["column"]},
        }
        for item in schema
    ]
    return FeatureRepoConfig.model_validate(
        {
            "entities": {"customer": {"join_keys": [KEY], "description": {"en": "a customer", "zh": "客户"}}},
            "sources": {"customer_table": {"kind": "parquet", "path": str(prepared_path.resolve())}},
            "feature_views": {
                TABLE_VIEW: {
                    "entities": ["customer"],
                    "source": "customer_table",
                    "event_timestamp": ENTITY_TS,
                    "description": {"en": f"the columns of {Path(table.path).name}", "zh": f"{Path(table.path).name} 的各列"},
                    "features": features,
                }
            },
        }
    )


def table_store(prepared: pd.DataFrame, schema: TableSchema, table: TableConfig, store_dir: str | Path) -> FeatureStore:
    """A feature store over the prepared table, written once under ``store_dir/_tables/``, named by its content."""
    directory = Path(store_dir) / "_tables"
    path = write_once(prepared, directory, TABLE_VIEW)
    return FeatureStore(table_repo(schema, path, table), data_dir=directory, store_dir=store_dir)


def table_meta(table: TableConfig, schema: TableSchema, left_out: dict[str, str] | None = None) -> dict[str, Any]:
    """What a model trained on a table records, so scoring types a new table the same way (and
    which columns it left out, and why)."""
    return {
        "path": str(Path(table.path).resolve()), "id": table.id, "time": table.time, "target": table.target, "positive": table.positive,
        "schema": schema, "left_out": dict(left_out or {}),
    }


def scoring_entities(prepared: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every customer with a row at or before ``as_of`` (sorted keys): whom a scoring run scores."""
    seen = prepared.loc[prepared[ENTITY_TS] <= as_of, KEY]
    return pd.DataFrame({KEY: seen.drop_duplicates().sort_values(kind="mergesort").to_numpy()})
