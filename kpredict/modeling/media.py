"""Marketing-mix model: per-channel carry-over and saturation as scikit-learn transformers in a
``Pipeline``, then a ridge regression whose channel effects cannot be negative.

Carry-over works on **lag columns**: each row holds a channel's spend in its own week and in the
``max_lag`` weeks before (:func:`lag_frame`), so :class:`GeometricAdstock` is a row-wise
transform. That keeps three things exact that a running sum over the rows given would break:
time-series cross-validation (a test fold's carry-over starts from the real spend before it), the
block bootstrap (resampled weeks bring their own history) and planning future weeks (their lags
hold last weeks' real spend and the plan). Cross-sectional data (one row per market) uses
``max_lag=0``: no carry-over.

Per channel ``c``: ``adstock = sum_k decay_c^k * spend_{t-k}``, ``hill = a^s / (a^s + K^s)`` with
``K = half_saturation_c * scale`` (``scale``: the mean positive adstock seen in fit, so the search
bounds do not depend on the currency), and ``kpi = intercept + sum_c beta_c * hill_c
+ sum_pairs gamma * hill_a * hill_b + controls``, with every ``beta`` and ``gamma`` >= 0.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline

from kpredict.errors import SchemaError

__all__ = [
    "GeometricAdstock",
    "HillSaturation",
    "MediaMixModel",
    "MonotoneBoostedRegression",
    "PairwiseProducts",
    "SignConstrainedRidge",
    "lag_column",
    "lag_frame",
    "lift_design",
    "lift_experiments",
]


def lag_column(channel: str, lag: int) -> str:
    """Name of the column holding ``channel``'s spend ``lag`` weeks before the row's week."""
    return f"{channel}__lag{lag}"


def lag_frame(spend: pd.DataFrame, channels: Sequence[str], max_lag: int) -> pd.DataFrame:
    """Lag columns of every channel (rows in time order; weeks before the first count as no spend).

    Raises:
        SchemaError: a channel column is missing, not numeric, negative or NaN.
    """
    missing = [c for c in channels if c not in spend.columns]
    if missing:
        raise SchemaError(f"spend column(s) {missing} are missing; the table has {list(spend.columns)}")
    columns: dict[str, np.ndarray] = {}
    for channel in channels:
        values = pd.to_numeric(spend[channel], errors="coerce").to_numpy(dtype=np.float64)
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise SchemaError(f"spend column {channel!r} has {bad} missing or non-numeric value(s); spend must be a number >= 0 in every row")
        if (values < 0).any():
            raise SchemaError(f"spend column {channel!r} has {int((values < 0).sum())} negative value(s); spend must be >= 0")
        for lag in range(max_lag + 1):
            shifted = np.zeros_like(values)
            shifted[lag:] = values[: len(values) - lag] if lag else values
            columns[lag_column(channel, lag)] = shifted
    return pd.DataFrame(columns, index=spend.index)


def lift_experiments(
    spend: pd.DataFrame, tests: pd.DataFrame, channels: Sequence[str], max_lag: int
) -> dict[str, np.ndarray]:
    """Measured lifts as arrays the media model fits on (see :class:`MediaMixModel`'s ``calibration``).

    ``spend``: one column per channel, rows in time order. ``tests``: ``channel``, ``start`` and
    ``end`` (row positions, inclusive), ``spend_change`` (added to the channel's spend in each test
    week; negative for a cut, ``-spend`` to go dark), ``lift`` (the KPI the change added over the
    measured rows) and ``lift_se``. The measured rows are the test weeks and the ``max_lag`` weeks
    after (within the data) unless optional ``measured_from`` / ``measured_to`` row positions say
    otherwise: one experiment read as two rows, the lift *during* the change and the lift *after*
    it, tells the carry-over apart from the immediate effect, which a single total cannot.

    Returns the rows each test touches with the channel's lag columns without and with the change
    (``base``, ``changed``), which test each row belongs to, and per test its channel, lift and se.
    """
    index = {c: i for i, c in enumerate(channels)}
    n = len(spend)
    needed = ["channel", "start", "end", "spend_change", "lift", "lift_se"]
    missing = [c for c in needed if c not in tests.columns]
    if missing:
        raise SchemaError(f"lift tests lack column(s) {missing}; expected {needed}")
    unknown = sorted({str(c) for c in tests["channel"]} - set(index))
    if unknown:
        raise SchemaError(f"lift tests name unknown channel(s) {unknown}; the channels are {list(channels)}")
    outside = tests[(tests["start"] < 0) | (tests["end"] < tests["start"]) | (tests["end"] >= n)]
    if len(outside):
        raise SchemaError(f"lift test row(s) {list(outside.index)[:5]}: start and end must be row positions with 0 <= start <= end < {n}")
    measured_from = tests["measured_from"] if "measured_from" in tests.columns else tests["start"]
    measured_to = tests["measured_to"] if "measured_to" in tests.columns else np.minimum(tests["end"] + max_lag, n - 1)
    bad = tests[(measured_from < 0) | (measured_to < measured_from) | (measured_to >= n)]
    if len(bad):
        raise SchemaError(
            f"lift test row(s) {list(bad.index)[:5]}: measured_from and measured_to must be row positions with 0 <= measured_from <= measured_to < {n}"
        )
    se = pd.to_numeric(tests["lift_se"], errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(se) & (se > 0)).all() or not np.isfinite(pd.to_numeric(tests["lift"], errors="coerce").to_numpy(dtype=np.float64)).all():
        raise SchemaError("every lift test needs a finite lift and a standard error > 0 (lift_se)")
    test_of_row, base_rows, changed_rows = [], [], []
    for number, (test, first, last) in enumerate(zip(tests.itertuples(index=False), measured_from, measured_to, strict=True)):
        channel = str(test.channel)
        start, end = int(test.start), int(test.end)
        changed = spend[[channel]].copy()
        changed.iloc[start : end + 1, 0] = np.clip(changed.iloc[start : end + 1, 0].to_numpy() + float(test.spend_change), 0.0, None)
        rows = np.arange(int(first), int(last) + 1)
        columns = [lag_column(channel, lag) for lag in range(max_lag + 1)]
        base_rows.append(lag_frame(spend[[channel]], [channel], max_lag)[columns].to_numpy()[rows])
        changed_rows.append(lag_frame(changed, [channel], max_lag)[columns].to_numpy()[rows])
        test_of_row.append(np.full(len(rows), number))
    return {
        "test": np.concatenate(test_of_row).astype(np.int64) if len(tests) else np.zeros(0, np.int64),
        "base": np.vstack(base_rows) if len(tests) else np.zeros((0, max_lag + 1)),
        "changed": np.vstack(changed_rows) if len(tests) else np.zeros((0, max_lag + 1)),
        "channel": np.array([index[str(c)] for c in tests["channel"]], dtype=np.int64),
        "lift": tests["lift"].to_numpy(dtype=np.float64),
        "lift_se": tests["lift_se"].to_numpy(dtype=np.float64),
    }


def lift_design(calibration: Mapping[str, np.ndarray], decay: Sequence[float], hills: Sequence[HillSaturation], n_columns: int) -> np.ndarray:
    """``(tests, n_columns)``: how much each experiment moved each channel's saturated carry-over, summed over its rows."""
    out = np.zeros((len(calibration["channel"]), n_columns))
    n_lags = calibration["base"].shape[1]
    for number, channel in enumerate(calibration["channel"]):
        rows = calibration["test"] == number
        weights = float(decay[channel]) ** np.arange(n_lags)
        hill = hills[channel]
        moved = hill.transform((calibration["changed"][rows] @ weights)[:, None]) - hill.transform((calibration["base"][rows] @ weights)[:, None])
        out[number, channel] = float(moved.sum())
    return out


class GeometricAdstock(TransformerMixin, BaseEstimator):
    """Carry-over: the weighted sum ``sum_k decay^k * x_k`` of a channel's lag columns (lag 0 first)."""

    def __init__(self, decay: float = 0.0) -> None:
        self.decay = decay

    def fit(self, X: Any, y: Any = None) -> GeometricAdstock:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=np.float64)
        return (values @ self.weights(values.shape[1]))[:, None]

    def weights(self, n_lags: int) -> np.ndarray:
        """Weight of each lag column."""
        return float(self.decay) ** np.arange(n_lags)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(["adstock"], dtype=object)


class HillSaturation(TransformerMixin, BaseEstimator):
    """Diminishing returns ``a^s / (a^s + K^s)`` in [0, 1), with ``K = half_saturation * scale_``.

    ``scale_`` is the mean of the positive inputs seen in fit: ``half_saturation=1`` puts the half
    point at the channel's typical adstocked spend, whatever the currency.
    """

    def __init__(self, half_saturation: float = 1.0, slope: float = 1.0) -> None:
        self.half_saturation = half_saturation
        self.slope = slope

    def fit(self, X: Any, y: Any = None) -> HillSaturation:
        values = np.asarray(X, dtype=np.float64).ravel()
        positive = values[values > 0]
        self.scale_ = float(positive.mean()) if len(positive) else 1.0
        self.n_features_in_ = 1
        return self

    def transform(self, X: Any) -> np.ndarray:
        ratio = np.clip(np.asarray(X, dtype=np.float64), 0.0, None) / (float(self.half_saturation) * self.scale_)
        powered = ratio ** float(self.slope)
        return powered / (1.0 + powered)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.array(["saturation"], dtype=object)


class PairwiseProducts(TransformerMixin, BaseEstimator):
    """Insert the products of chosen pairs of the first ``n_media`` columns right after them.

    Synergy between channels (TV raises what radio returns): ``[media, products, controls]``.
    """

    def __init__(self, n_media: int = 0, pairs: Sequence[tuple[int, int]] = ()) -> None:
        self.n_media = n_media
        self.pairs = pairs

    def fit(self, X: Any, y: Any = None) -> PairwiseProducts:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        values = np.asarray(X, dtype=np.float64)
        products = [values[:, a] * values[:, b] for a, b in self.pairs]
        if not products:
            return values
        return np.column_stack([values[:, : self.n_media], *products, values[:, self.n_media :]])


class SignConstrainedRidge(RegressorMixin, BaseEstimator):
    """Ridge regression whose first ``n_nonnegative`` coefficients cannot be negative.

    scikit-learn's ``Ridge(positive=True)`` constrains every coefficient; a control such as price
    needs a free sign. Each free column therefore enters twice, as ``z`` and ``-z``: with both
    coefficients >= 0 their difference is free, and the ridge penalty is smallest with one of them
    at zero, so the solution is the partially constrained ridge's. Columns are standardised first,
    so ``alpha`` means the same for every column and data set.
    """

    def __init__(self, alpha: float = 1.0, n_nonnegative: int = 0) -> None:
        self.alpha = alpha
        self.n_nonnegative = n_nonnegative

    def fit(self, X: Any, y: Any, *, lift_X: np.ndarray | None = None, lift_y: np.ndarray | None = None, lift_se: np.ndarray | None = None) -> SignConstrainedRidge:
        """Fit on the rows, and on measured lifts when given.

        ``lift_X`` rows are *differences* of the design (what an experiment changed), ``lift_y`` the
        KPI difference it measured and ``lift_se`` its standard error: each enters the least squares
        as one more row without intercept, weighted by the rows' residual variance over its own.
        """
        values = np.asarray(X, dtype=np.float64)
        target = np.asarray(y, dtype=np.float64)
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        z = (values - mean) / std
        k = int(self.n_nonnegative)
        p = values.shape[1]
        solver = Ridge(alpha=float(self.alpha), positive=True, fit_intercept=True)
        solver.fit(np.column_stack([z, -z[:, k:]]), target)
        if lift_X is not None and len(lift_X):
            # Centred weekly rows and uncentred experiment rows (a difference has no intercept), each
            # experiment weighted by (residual sd of the weeks / its standard error)^2.
            residual = target - solver.predict(np.column_stack([z, -z[:, k:]]))
            sigma = float(np.sqrt(np.sum(residual**2) / max(len(target) - p - 1, 1)))
            dz = np.asarray(lift_X, dtype=np.float64) / std
            weight = sigma / np.maximum(np.asarray(lift_se, dtype=np.float64), 1e-12)
            self.lift_weight_ = weight
            design = np.vstack([np.column_stack([z, -z[:, k:]]), np.column_stack([dz, -dz[:, k:]]) * weight[:, None]])
            y_bar = float(target.mean())
            response = np.concatenate([target - y_bar, np.asarray(lift_y, dtype=np.float64) * weight])
            solver = Ridge(alpha=float(self.alpha), positive=True, fit_intercept=False).fit(design, response)
            solver.intercept_ = y_bar
        coef_z = solver.coef_[:p].copy()
        coef_z[k:] -= solver.coef_[p:]
        self.coef_ = coef_z / std
        self.intercept_ = float(solver.intercept_ - np.dot(self.coef_, mean))
        self.n_features_in_ = p
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


class MonotoneBoostedRegression(RegressorMixin, BaseEstimator):
    """LightGBM on the saturated media and the controls: each channel's effect can only rise with
    its spend, and no tree mixes two channels, so the fit stays a sum of one curve per channel
    (plus a free function of the controls) and splits into contributions exactly.

    The alternative to :class:`SignConstrainedRidge` when the response is not a scaled Hill curve:
    the searched carry-over and saturation give the inputs, the trees give each curve's shape.
    The booster is kept as LightGBM's model text, so the skops file holds no foreign type.

    Args:
        n_media: the first ``n_media`` columns are channels (increasing, each in its own trees).
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM's.
        random_state: LightGBM's seed (the fit is deterministic).
    """

    def __init__(
        self, n_media: int = 0, n_estimators: int = 300, learning_rate: float = 0.03, num_leaves: int = 4,
        min_child_samples: int = 5, random_state: int = 0,
    ) -> None:
        self.n_media = n_media
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> MonotoneBoostedRegression:
        import lightgbm

        values = np.asarray(X, dtype=np.float64)
        n_media, p = int(self.n_media), values.shape[1]
        groups = [[j] for j in range(n_media)] + ([list(range(n_media, p))] if p > n_media else [])
        params = {
            "objective": "regression", "learning_rate": float(self.learning_rate), "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": int(self.min_child_samples), "min_data_in_bin": 1, "verbosity": -1, "num_threads": 1,
            "seed": int(self.random_state), "deterministic": True, "force_col_wise": True,
            "monotone_constraints": [1] * n_media + [0] * (p - n_media), "monotone_constraints_method": "advanced",
            "interaction_constraints": groups,
        }
        data = lightgbm.Dataset(values, np.asarray(y, dtype=np.float64), params={"verbosity": -1, "min_data_in_bin": 1})
        self.booster_text_ = lightgbm.train(params, data, num_boost_round=int(self.n_estimators)).model_to_string()
        self.n_features_in_ = p
        return self

    def predict(self, X: Any) -> np.ndarray:
        return _booster(self.booster_text_).predict(np.asarray(X, dtype=np.float64))

    def media_effects(self, hill: np.ndarray) -> np.ndarray:
        """``(rows, n_media)``: each channel's curve at its saturated spend, minus the curve at 0.

        Exact because the model is a sum of per-channel functions: one channel moves, the rest
        (and the controls) stay at 0, and the difference is that channel's curve alone.
        """
        rows, n_media = hill.shape
        design = np.zeros((rows * (n_media + 1), self.n_features_in_))
        for c in range(n_media):
            design[c * rows : (c + 1) * rows, c] = hill[:, c]
        predicted = self.predict(design)
        return (predicted[: rows * n_media].reshape(n_media, rows) - predicted[rows * n_media :][None, :]).T

    def has_effect(self) -> np.ndarray:
        """Per channel: whether any tree splits on it."""
        used = _booster(self.booster_text_).feature_importance(importance_type="split")
        return np.asarray(used[: int(self.n_media)]) > 0


@functools.lru_cache(maxsize=512)
def _booster(text: str) -> Any:
    """The LightGBM booster of a model text, built once per text (the allocator predicts many times)."""
    import lightgbm

    return lightgbm.Booster(model_str=text)


class MediaMixModel(RegressorMixin, BaseEstimator):
    """KPI from spend with carry-over and saturation per channel, controls and optional synergies.

    Args:
        channels: channel names; ``X`` holds each one's lag columns (:func:`lag_frame`).
        max_lag: lag columns per channel beyond the row's own week (0: no carry-over).
        decay, half_saturation, slope: per channel (mappings by channel name); defaults 0, 1, 1.
        alpha: ridge penalty on standardised columns.
        controls: further columns with a free-sign linear effect (trend, season, price, promo).
        interactions: channel pairs with a non-negative synergy term.
        regression: ``"ridge"`` (:class:`SignConstrainedRidge`, effects >= 0) or ``"lightgbm"``
            (:class:`MonotoneBoostedRegression`: increasing per-channel curves, no synergies).
        calibration: measured lifts (:func:`lift_experiments`), fitted beside the weeks, each
            weighted by the weeks' residual variance over its own (ridge without synergies only).
            Why: a channel that is always on and moves with the season has an effect the weekly
            series cannot separate from the season; an experiment that changed its spend can.

    Attributes:
        pipeline_: the fitted scikit-learn Pipeline: media (a ColumnTransformer of one
            ``[adstock, saturation]`` Pipeline per channel, controls passed through), interactions,
            regression.
    """

    def __init__(
        self,
        channels: Sequence[str] = (),
        max_lag: int = 12,
        decay: Mapping[str, float] | None = None,
        half_saturation: Mapping[str, float] | None = None,
        slope: Mapping[str, float] | None = None,
        alpha: float = 1.0,
        controls: Sequence[str] = (),
        interactions: Sequence[tuple[str, str]] = (),
        regression: str = "ridge",
        calibration: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.channels = channels
        self.max_lag = max_lag
        self.decay = decay
        self.half_saturation = half_saturation
        self.slope = slope
        self.alpha = alpha
        self.controls = controls
        self.interactions = interactions
        self.regression = regression
        self.calibration = calibration

    # ------------------------------------------------------------------ building and fitting
    def _pipeline(self) -> Pipeline:
        channels = list(self.channels)
        decay, half, slope = dict(self.decay or {}), dict(self.half_saturation or {}), dict(self.slope or {})
        media = [
            (
                channel,
                Pipeline([
                    ("adstock", GeometricAdstock(decay.get(channel, 0.0))),
                    ("saturation", HillSaturation(half.get(channel, 1.0), slope.get(channel, 1.0))),
                ]),
                [lag_column(channel, lag) for lag in range(int(self.max_lag) + 1)],
            )
            for channel in channels
        ]
        controls = [("controls", "passthrough", list(self.controls))] if self.controls else []
        index = {channel: i for i, channel in enumerate(channels)}
        pairs = [(index[a], index[b]) for a, b in self.interactions]
        return Pipeline([
            ("media", ColumnTransformer(media + controls, remainder="drop", verbose_feature_names_out=False)),
            ("interactions", PairwiseProducts(len(channels), pairs)),
            ("regression", self._regression(len(channels) + len(pairs))),
        ])

    def _regression(self, n_media: int) -> SignConstrainedRidge | MonotoneBoostedRegression:
        if self.regression == "lightgbm":
            return MonotoneBoostedRegression(n_media)
        return SignConstrainedRidge(self.alpha, n_nonnegative=n_media)

    def fit(self, X: pd.DataFrame, y: Any) -> MediaMixModel:
        """Fit the transformers' scales and the regression."""
        if not self.channels:
            raise SchemaError("the media model needs at least one channel")
        unknown = [name for pair in self.interactions for name in pair if name not in self.channels]
        if unknown:
            raise SchemaError(f"interaction channel(s) {sorted(set(unknown))} are not among the channels {list(self.channels)}")
        if self.regression not in ("ridge", "lightgbm"):
            raise SchemaError(f"regression must be 'ridge' or 'lightgbm'; got {self.regression!r}")
        if self.regression == "lightgbm" and self.interactions:
            raise SchemaError("the lightgbm regression keeps channels apart (no synergy terms); use the ridge for interactions")
        calibrated = self.calibration is not None and len(self.calibration["channel"]) > 0
        if calibrated and (self.regression != "ridge" or self.interactions):
            raise SchemaError("measured lifts calibrate the ridge without synergy terms; set regression: ridge and interactions: none")
        self._check_columns(X)
        target = np.asarray(y, dtype=np.float64)
        if not calibrated:
            self.pipeline_ = self._pipeline().fit(X, target)
            return self
        pipeline = self._pipeline()
        design = pipeline[:-1].fit_transform(X)
        media = pipeline.named_steps["media"]
        hills = [media.named_transformers_[c].named_steps["saturation"] for c in self.channels]
        decay = [media.named_transformers_[c].named_steps["adstock"].decay for c in self.channels]
        lift_X = lift_design(self.calibration, decay, hills, design.shape[1])
        pipeline.named_steps["regression"].fit(design, target, lift_X=lift_X, lift_y=self.calibration["lift"], lift_se=self.calibration["lift_se"])
        self.pipeline_ = pipeline
        return self

    def _check_columns(self, X: pd.DataFrame) -> None:
        needed = [lag_column(c, lag) for c in self.channels for lag in range(int(self.max_lag) + 1)] + list(self.controls)
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise SchemaError(f"the media model's input lacks column(s) {missing[:8]}{' ...' if len(missing) > 8 else ''}")

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted KPI per row."""
        self._check_columns(X)
        return self.pipeline_.predict(X)

    # ------------------------------------------------------------------ reading the fitted model
    @property
    def regression_(self) -> SignConstrainedRidge | MonotoneBoostedRegression:
        return self.pipeline_.named_steps["regression"]

    def channel_steps(self, channel: str) -> Pipeline:
        """The fitted ``[adstock, saturation]`` pipeline of one channel."""
        return self.pipeline_.named_steps["media"].named_transformers_[channel]

    def saturations(self, lags: np.ndarray) -> np.ndarray:
        """Saturated carry-over per row and channel from a ``(rows, channels, max_lag + 1)`` spend array."""
        return np.column_stack([self.channel_steps(c).transform(lags[:, i, :]).ravel() for i, c in enumerate(self.channels)])

    def media_effects(self, lags: np.ndarray) -> np.ndarray:
        """KPI from each channel per row, ``(rows, channels)``; a synergy is split evenly between its pair.

        The fast path the allocation optimiser calls many times: it runs the same fitted
        transformers as :meth:`predict`, on arrays instead of a frame.
        """
        hill = self.saturations(lags)
        if isinstance(self.regression_, MonotoneBoostedRegression):
            return self.regression_.media_effects(hill)
        coef = self.regression_.coef_
        n = len(self.channels)
        effects = hill * coef[:n]
        for j, (a, b) in enumerate(self.pipeline_.named_steps["interactions"].pairs):
            shared = 0.5 * coef[n + j] * hill[:, a] * hill[:, b]
            effects[:, a] += shared
            effects[:, b] += shared
        return effects

    def lag_array(self, X: pd.DataFrame) -> np.ndarray:
        """The ``(rows, channels, max_lag + 1)`` spend array of a frame of lag columns."""
        lags = range(int(self.max_lag) + 1)
        return np.stack([X[[lag_column(c, k) for k in lags]].to_numpy(dtype=np.float64) for c in self.channels], axis=1)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per row: ``baseline`` (intercept and controls) and each channel's KPI; they sum to the prediction."""
        effects = self.media_effects(self.lag_array(X))
        out = pd.DataFrame(effects, columns=list(self.channels), index=X.index)
        out.insert(0, "baseline", self.predict(X) - effects.sum(axis=1))
        return out

    def predicted_lifts(self) -> np.ndarray:
        """What the fitted curves say each calibration experiment should have measured (its ``lift``
        beside it shows how well the model explains the experiments)."""
        if self.calibration is None or len(self.calibration["channel"]) == 0:
            return np.zeros(0)
        hills = [self.channel_steps(c).named_steps["saturation"] for c in self.channels]
        decay = [self.channel_steps(c).named_steps["adstock"].decay for c in self.channels]
        return lift_design(self.calibration, decay, hills, len(self.regression_.coef_)) @ self.regression_.coef_

    def has_effect(self) -> np.ndarray:
        """Per channel: whether any of its coefficients (own or synergy) is positive, or any tree uses it."""
        if isinstance(self.regression_, MonotoneBoostedRegression):
            return self.regression_.has_effect()
        coef = self.regression_.coef_
        n = len(self.channels)
        effect = coef[:n] > 0
        for j, (a, b) in enumerate(self.pipeline_.named_steps["interactions"].pairs):
            if coef[n + j] > 0:
                effect[a] = effect[b] = True
        return effect
