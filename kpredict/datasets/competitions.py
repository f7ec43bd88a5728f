"""Readers of the M1 and NN5 forecasting competition files as Nixtla long frames (train, test).

M1 (Makridakis et al. 1982, the Mcomp export): one row per series, ``x`` the training values and
``xx`` the test values, ``;``-separated; no dates, so ``ds`` is the position (1, 2, ...: forecast
with ``freq=1``). NN5 (2008): daily cash withdrawals at 111 ATMs, one column per series, the last
56 days are the test; the file's trailing ``;`` makes an unnamed column that is dropped, and its
missing days stay NaN for the caller's imputation policy (the test scores non-missing days only).
See ../shared/data/SOURCES.md for origin and quirks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kpredict.errors import DataNotFoundError, SchemaError

__all__ = ["M1", "NN5_HORIZON", "load_m1", "load_nn5"]

#: M1 period → (season length, competition horizon)
M1 = {"yearly": (1, 6), "quarterly": (4, 8), "monthly": (12, 18)}
NN5_HORIZON = 56


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"competition file {path} does not exist")
    return path


def load_m1(path: str | Path, frequency: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) of one M1 frequency; ``ds`` counts positions from 1, the test continuing the train."""
    if frequency not in M1:
        raise SchemaError(f"M1 frequency must be one of {list(M1)}; got {frequency!r}")
    raw = pd.read_csv(_existing(path))
    missing = {"st", "period", "x", "xx"} - set(raw.columns)
    if missing:
        raise SchemaError(f"{path} lacks column(s) {sorted(missing)}; expected the Mcomp export (sn, st, period, x, xx)")
    raw = raw[raw["period"].str.lower() == frequency]
    train, test = [], []
    for name, x, xx in zip(raw["st"], raw["x"], raw["xx"]):
        y = np.array(str(x).split(";"), dtype=float)
        y_test = np.array(str(xx).split(";"), dtype=float)
        train.append(pd.DataFrame({"unique_id": name, "ds": np.arange(1, len(y) + 1), "y": y}))
        test.append(pd.DataFrame({"unique_id": name, "ds": np.arange(len(y) + 1, len(y) + len(y_test) + 1), "y": y_test}))
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)


def load_nn5(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) of NN5: the first 735 days and the last 56, daily dates, NaN where a day is missing."""
    raw = pd.read_csv(_existing(path), sep=";", encoding="utf-8-sig")
    raw = raw.loc[:, ~raw.columns.str.startswith("Unnamed")]
    if "Date" not in raw.columns:
        raise SchemaError(f"{path} lacks the 'Date' column; expected Date then one column per ATM")
    raw["Date"] = pd.to_datetime(raw["Date"], format="%Y-%m-%d")
    long = raw.melt(id_vars="Date", var_name="unique_id", value_name="y").rename(columns={"Date": "ds"})
    long = long.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    cut = raw["Date"].sort_values().iloc[-NN5_HORIZON]
    return long[long["ds"] < cut].reset_index(drop=True), long[long["ds"] >= cut].reset_index(drop=True)
