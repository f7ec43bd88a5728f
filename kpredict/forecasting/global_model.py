"""One LightGBM model across all series (mlforecast does the lag features and the recursion).

Why mlforecast: it computes lags, rolling statistics of lags and calendar features per series in
compiled code, and feeds each step's prediction back as the next step's lag — the recursive
mechanics we would otherwise hand-write. We keep the LightGBM booster as text (no pickle) and
rebuild the feature machinery from these settings at scoring time.

Covariates: only columns in ``known_future`` (e.g. the holiday flag) are used as features, since
the future values must be known when forecasting; everything else about a series enters through
its own lags.
"""

from __future__ import annotations

import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError
from kpredict.forecasting.series import ID, TARGET, TIME

__all__ = ["GLOBAL_NAME", "GlobalModel", "GlobalModelSettings"]

logger = logging.getLogger(__name__)

GLOBAL_NAME = "LightGBM"
BOOSTER_FILE = "global_booster.txt"
SETTINGS_FILE = "global_model.json"


@dataclass
class GlobalModelSettings:
    """Features and LightGBM parameters of the global model (JSON-serialisable)."""

    lags: list[int] = field(default_factory=lambda: [1, 7, 14, 28])
    rolling_windows: list[int] = field(default_factory=lambda: [7, 28])  # rolling means of lag 1
    lag_rolling: list[list[int]] = field(default_factory=list)  # further [lag, window] rolling means, e.g. [[12, 12]]
    date_features: list[str] = field(default_factory=lambda: ["dayofweek", "month", "dayofyear"])
    known_future: list[str] = field(default_factory=list)
    differences: list[int] = field(default_factory=list)  # e.g. [12]: model the year-on-year change
    scaler: str = "local_standard"  # "local_standard" | "none": per-series scaling so one model fits all sizes
    num_boost_round: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_data_in_leaf: int = 20
    subsample: float = 1.0
    colsample: float = 1.0
    objective: str = "l2"
    seed: int = 0
    num_threads: int = 1

    def lgbm_params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.num_boost_round, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_child_samples": self.min_data_in_leaf, "objective": self.objective, "random_state": self.seed,
            "subsample": self.subsample, "subsample_freq": 1 if self.subsample < 1 else 0, "colsample_bytree": self.colsample,
            "n_jobs": self.num_threads, "deterministic": True, "force_row_wise": True, "verbosity": -1,
        }

    @property
    def min_length(self) -> int:
        """Shortest history the model trains on or forecasts from (its lags after differencing, plus 3)."""
        longest = max([*self.lags, *(lag + window - 1 for lag, window in self.lag_rolling), *(w for w in self.rolling_windows)], default=1)
        return longest + sum(self.differences) + 3


@contextmanager
def _quiet():
    """mlforecast warns about the NaN lags at the start of every series; LightGBM handles NaN."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Found null values")
        warnings.filterwarnings("ignore", message="The following series were dropped")
        warnings.filterwarnings("ignore", message=".*dropna.*")
        yield


class _BoosterModel:
    """The minimal estimator mlforecast calls at predict time: ``predict(X)`` on a loaded booster."""

    def __init__(self, booster) -> None:
        self.booster = booster

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(X, num_threads=1)


class GlobalModel:
    """LightGBM over lag / rolling / calendar / known-future features of every series."""

    def __init__(self, settings: GlobalModelSettings, freq: str) -> None:
        self.settings = settings
        self.freq = freq
        self.booster_ = None

    def _forecaster(self, model: Any):
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean
        from mlforecast.target_transforms import Differences, LocalStandardScaler

        s = self.settings
        transforms = [Differences(list(s.differences))] if s.differences else []
        if s.scaler == "local_standard":
            transforms.append(LocalStandardScaler())
        lag_transforms: dict[int, list] = {}
        for window in s.rolling_windows:
            lag_transforms.setdefault(1, []).append(RollingMean(window_size=window))
        for lag, window in s.lag_rolling:
            lag_transforms.setdefault(int(lag), []).append(RollingMean(window_size=int(window)))
        return MLForecast(
            models={GLOBAL_NAME: model}, freq=self.freq, lags=s.lags or None, lag_transforms=lag_transforms or None,
            date_features=s.date_features or None, target_transforms=transforms or None, num_threads=s.num_threads,
        )

    def eligible(self, df: pd.DataFrame) -> pd.Index:
        """Series long enough for the model's lags."""
        lengths = df.groupby(ID, sort=True).size()
        return lengths.index[lengths >= self.settings.min_length]

    def _frame(self, df: pd.DataFrame) -> pd.DataFrame:
        return df[[ID, TIME, TARGET, *self.settings.known_future]]

    def _regressor(self):
        import lightgbm as lgb

        return lgb.LGBMRegressor(**self.settings.lgbm_params())

    def cross_validation(self, df: pd.DataFrame, h: int, n_windows: int, step: int) -> pd.DataFrame:
        """Rolling-origin forecasts (``unique_id, ds, cutoff, y, LightGBM``), refitting per window.

        Cut-offs are relative to each series' own end, as in statsforecast's ``cross_validation``
        (mlforecast's own uses common calendar cut-offs, which misalign series that end on
        different dates), so both CV frames join on (series, date, cutoff).
        """
        ordered = df.sort_values([ID, TIME], kind="stable").reset_index(drop=True)
        from_end = ordered.groupby(ID, sort=False).cumcount(ascending=False).to_numpy()
        frames = []
        for window in range(n_windows):
            offset = h + (n_windows - 1 - window) * step
            train = ordered[from_end >= offset]
            test = ordered[(from_end < offset) & (from_end >= offset - h)]
            ids = self.eligible(train)
            if len(ids) == 0:
                continue
            train, test = train[train[ID].isin(ids)], test[test[ID].isin(ids)]
            model = GlobalModel(self.settings, self.freq).fit(train)
            forecast = model.predict(train, h, future=test)
            forecast["cutoff"] = forecast[ID].map(train.groupby(ID, sort=True)[TIME].max())
            frames.append(forecast.merge(test[[ID, TIME, TARGET]], on=[ID, TIME], how="inner"))
        if not frames:
            return pd.DataFrame(columns=[ID, TIME, "cutoff", TARGET, GLOBAL_NAME])
        return pd.concat(frames, ignore_index=True)[[ID, TIME, "cutoff", TARGET, GLOBAL_NAME]]

    def fit(self, df: pd.DataFrame) -> GlobalModel:
        """Train on every series long enough for the lags."""
        df = df[df[ID].isin(self.eligible(df))]
        if df.empty:
            raise SchemaError(f"no series is long enough for the global model (it needs {self.settings.min_length} periods)")
        fcst = self._forecaster(self._regressor())
        with _quiet():
            fcst.fit(self._frame(df), static_features=[])
        self.booster_ = fcst.models_[GLOBAL_NAME].booster_
        return self

    def predict(self, history: pd.DataFrame, h: int, future: pd.DataFrame | None = None) -> pd.DataFrame:
        """``h`` steps after each series' last date (``future`` holds the known-future columns)."""
        if self.booster_ is None:
            raise RuntimeError("the global model is not fitted")
        fcst = self._forecaster(self._regressor())
        if self.settings.known_future and future is None:
            raise SchemaError(
                f"the global model needs the known-future column(s) {self.settings.known_future} for the forecast dates; "
                "pass them as `future` (unique_id, ds and those columns)"
            )
        x_df = future[[ID, TIME, *self.settings.known_future]] if self.settings.known_future else None
        with _quiet():
            fcst.preprocess(self._frame(history), static_features=[])
            fcst.models_ = {GLOBAL_NAME: _BoosterModel(self.booster_)}
            out = fcst.predict(h, X_df=x_df)
        return out[[ID, TIME, GLOBAL_NAME]]

    def to_artifacts(self, directory: Path) -> None:
        (directory / BOOSTER_FILE).write_text(self.booster_.model_to_string(), encoding="utf-8")
        (directory / SETTINGS_FILE).write_text(json.dumps(asdict(self.settings), indent=2, sort_keys=True), encoding="utf-8")

    @classmethod
    def from_artifacts(cls, directory: Path, freq: str) -> GlobalModel:
        import lightgbm as lgb

        settings = GlobalModelSettings(**json.loads((directory / SETTINGS_FILE).read_text(encoding="utf-8")))
        model = cls(settings, freq)
        model.booster_ = lgb.Booster(model_str=(directory / BOOSTER_FILE).read_text(encoding="utf-8"))
        return model
