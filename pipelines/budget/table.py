"""A marketing team's own weekly spend sheet in: the budget pipeline without a feature repository.

``kpredict train budget --table spend.csv --time week --kpi revenue --channels tv,search,social``

The sheet (one row per week) is read once and typed (the week as dates, the KPI, spend and
controls as numbers), written to the feature store as a parquet file named by its content, and a
source is declared over it behind the scenes; training and scoring then run the same code as on
the demo company. A channel is named after its spend column. What the model records lets a later
sheet (``kpredict score budget --table``) be read the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.features import FeatureRepoConfig, FeatureStore
from kpredict.features.own_tables import read_timestamps, write_once
from kpredict.pipelines.budget.config import BudgetConfig, BudgetTableConfig

__all__ = ["SOURCE", "open_table", "prepare_spend_table", "recorded_table"]

SOURCE = "spend_table"


def prepare_spend_table(frame: pd.DataFrame, table: BudgetTableConfig) -> pd.DataFrame:
    """The sheet's named columns, typed: the week as dates, every other column as float64."""
    named = {"--kpi": [table.kpi], "--channels": table.channels, "--controls": table.controls}
    if table.time is not None:
        named["--time"] = [table.time]
    missing = [f"{option} {column!r}" for option, columns in named.items() for column in columns if column not in frame.columns]
    if missing:
        raise SchemaError(f"spend table {table.path} has no column {', '.join(missing)}; its columns: {list(frame.columns)}")
    repeated = sorted({c for c in [table.kpi, *table.channels, *table.controls] if [table.kpi, *table.channels, *table.controls].count(c) > 1})
    if repeated:
        raise ConfigError(f"spend table {table.path}: column(s) {repeated} are named twice among --kpi, --channels and --controls")
    prepared = pd.DataFrame(index=frame.index)
    if table.time is not None:
        prepared[table.time] = read_timestamps(frame[table.time], what=f"spend table {table.path}", option="--time")
    for option, columns in (("--kpi", [table.kpi]), ("--channels", table.channels), ("--controls", table.controls)):
        for column in columns:
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            if bad.any() or values.isna().any():
                example = repr(frame.loc[bad, column].iloc[0]) if bad.any() else "a blank cell"
                raise SchemaError(
                    f"spend table {table.path}: {option} column {column!r} must hold a number in every row; "
                    f"{int(values.isna().sum())} row(s) do not, e.g. {example}"
                )
            prepared[column] = values.astype(np.float64)
    negative = [c for c in table.channels if (prepared[c] < 0).any()]
    if negative:
        raise SchemaError(f"spend table {table.path}: --channels column(s) {negative} hold negative spend")
    return prepared.reset_index(drop=True)


def open_table(config: BudgetConfig) -> tuple[BudgetConfig, FeatureStore, dict[str, Any]]:
    """(the config reading the sheet, a store over the typed sheet, what the model records)."""
    from kpredict.scoring.input_file import read_table

    table = config.table
    if table is None:
        raise ConfigError("open_table needs config.table (a spend table)")
    prepared = prepare_spend_table(read_table(table.path, role="spend table"), table)
    directory = Path(config.feature_store_dir) / "_tables"
    path = write_once(prepared, directory, SOURCE)
    repo = FeatureRepoConfig.model_validate({"sources": {SOURCE: {"kind": "parquet", "path": str(path.resolve())}}})
    store = FeatureStore(repo, data_dir=directory, store_dir=config.feature_store_dir)
    update: dict[str, Any] = {
        "source": SOURCE, "time_column": table.time, "kpi_column": table.kpi,
        "channels": {column: column for column in table.channels}, "controls": list(table.controls), "lift_tests": None,
    }
    unknown = sorted(set(config.channel_labels_zh) - set(table.channels))
    if unknown:  # the demo's Chinese labels name the demo's channels
        update["channel_labels_zh"] = {k: v for k, v in config.channel_labels_zh.items() if k in table.channels}
    effective = BudgetConfig.model_validate({**config.model_dump(), **update})
    return effective, store, {
        "path": str(Path(table.path).resolve()), "time": table.time, "kpi": table.kpi, "channels": list(table.channels),
        "controls": list(table.controls),
    }


def recorded_table(recorded: dict[str, Any], path: str | None) -> BudgetTableConfig:
    """The sheet settings a model recorded, reading ``path`` (default: its training sheet)."""
    return BudgetTableConfig(path=path or recorded["path"], time=recorded["time"], kpi=recorded["kpi"], channels=recorded["channels"],
                             controls=recorded["controls"])
