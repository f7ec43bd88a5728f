"""Reader of the Tourism forecasting competition files (Athanasopoulos et al. 2011) as Nixtla long frames.

File layout (see ../shared/data/SOURCES.md): one column per series; ``*_in.csv`` rows are series
length, start year, start period (monthly and quarterly only), then values; ``*_oos.csv`` rows are
horizon, start year, start period, then values. Columns are padded with blanks, and
``yearly_in.csv`` has stray numbers below each series' length, so every series is cut to its
declared length. Test dates continue from the last training date (this also sidesteps Y18's
wrong out-of-sample start year).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kpredict.errors import DataNotFoundError, SchemaError

__all__ = ["TOURISM", "load_tourism"]

#: frequency → (pandas freq, season length, competition horizon, header rows)
TOURISM = {
    "monthly": ("MS", 12, 24, 3),
    "quarterly": ("QS", 4, 8, 3),
    "yearly": ("YS", 1, 4, 2),
}


def _dates(year: int, period: int, n: int, frequency: str) -> pd.DatetimeIndex:
    freq = TOURISM[frequency][0]
    months = {"monthly": period, "quarterly": 3 * (period - 1) + 1, "yearly": 1}[frequency]
    return pd.date_range(pd.Timestamp(year=int(year), month=int(months), day=1), periods=n, freq=freq)


def load_tourism(directory: str | Path, frequency: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test) long frames ``unique_id, ds, y`` of one tourism frequency."""
    if frequency not in TOURISM:
        raise SchemaError(f"tourism frequency must be one of {list(TOURISM)}; got {frequency!r}")
    directory = Path(directory)
    _, _, horizon, header = TOURISM[frequency]
    paths = [directory / f"{frequency}_in.csv", directory / f"{frequency}_oos.csv"]
    for path in paths:
        if not path.is_file():
            raise DataNotFoundError(f"tourism file {path} does not exist")
    raw_in = pd.read_csv(paths[0], header=0)
    raw_out = pd.read_csv(paths[1], header=0)
    train, test = [], []
    for column in raw_in.columns:
        values = raw_in[column].to_numpy(dtype=float)
        length = int(values[0])
        year = int(values[1])
        period = int(values[2]) if header == 3 else 1
        y = values[header : header + length]
        if len(y) != length or np.isnan(y).any():
            raise SchemaError(f"tourism series {column} in {paths[0].name} has fewer values than its declared length")
        ds = _dates(year, period, length + horizon, frequency)
        out = raw_out[column].to_numpy(dtype=float)
        y_test = out[header : header + int(out[0])]
        train.append(pd.DataFrame({"unique_id": column, "ds": ds[:length], "y": y}))
        test.append(pd.DataFrame({"unique_id": column, "ds": ds[length : length + len(y_test)], "y": y_test}))
    return pd.concat(train, ignore_index=True), pd.concat(test, ignore_index=True)
