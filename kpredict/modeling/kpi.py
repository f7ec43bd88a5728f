"""A causal detector for KPI series (daily revenue per store, hourly latency per host): the score
at time t uses only the values up to t, so a scheduled job and a backtest see the same scores.

Step by step, for every series at once:

1. **Expected value.** statsforecast's ETS, its parameters refit every ``refit_every`` steps on
   the series' *cleaned* history (outliers winsorised, detected level shifts taken out) and its
   state carried forward one step at a time with those parameters (``forward``, from the step the
   fit began at), so a spike never drags the forecast and a level shift is not smoothed into it.
   A season longer than ETS can estimate (a week of half-hours) is taken out by MSTL at each refit
   and a non-seasonal ETS follows the rest; ``fallback_season_length`` is fitted until two cycles
   are known, and while it is, a level shift is alerted but left in the history (the first
   weekends of hourly data are season to be learnt, not a level to move to).
2. **Peers.** When at least ``min_peers`` series are scored at a step (the stores of one chain),
   their median residual is the step's common movement (a chain-wide promotion, a holiday, a
   price change) and is taken out: what is left is what happened to this series alone.
3. **Standardised residual** ``z``: centred and scaled by the median and MAD of the series'
   recent normal residuals (a skewed KPI's forecast is biased; its noise changes over time).
   Calendar days (holidays) get their own location and scale, learnt at fit time.
4. **Surprise**, ``-log10`` of a tail share as in kpredict.modeling.anomaly. A step's own surprise
   reads ``z`` against the fitted reference residuals, each side on its own and per series where
   a series has enough history (revenue has bulk orders above, closures below). A *run* of the
   last ``L`` steps (``L = 2..max_run``) is the standardised sum of their residuals, each counted
   at most two standard deviations so one bulk order is not a shift, read against the reference
   runs (in high-frequency data neighbouring steps move together). One wild day is a spike;
   several moderately unusual days in a row are a level shift, recognised within ``max_run``
   steps.
5. **Re-levelling.** When a run's surprise reaches ``shift_threshold`` the series' level moves by
   the run's median residual and later steps are judged against the new level, re-measured from
   all steps since the onset for ``2 * max_run`` more steps, so a shift raises one alert at its
   onset, not one a day. A return to the level held before is a *recovery*: steps are also judged
   against the old level and the smaller surprise counts.

Reference tails are empirical up to their 95th percentile and exponential beyond it, with the rate
of the 95th-99th percentile shoulder: the few most extreme reference steps, which may be anomalies
themselves, do not define what is normal, and values beyond anything seen keep their order.

``fit`` learns the tails, the calendar effect and the calibration of the 0..1 score (the share of
reference steps less surprising) from a training span; ``detect`` scores any span with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from kpredict.errors import SchemaError
from kpredict.modeling.tails import reference_quantiles, tail_surprise

__all__ = ["KPI_KINDS", "KpiDetector"]

KPI_KINDS = ("", "spike", "level_shift", "recovery")
_MAD_TO_SD = 1.4826
_CLIP = 3.0  # |z| at which a step is winsorised in the forecast's history and the scale's memory
_SHOULDER, _KNEE = 0.95, 0.99
_MAX_ETS_SEASON = 48  # longer seasons are decomposed (MSTL) rather than estimated by ETS
_MAX_DAILY_SEASON = 48  # steps a day up to which finer data gets a weekly season (336 steps: MSTL, 0.4 s a fit)
_RUN_CLIP = 2.0  # a run's steps count at most this many standard deviations each: one bulk order is not a shift


class _ShoulderTail:
    """Surprise of a non-negative statistic against reference quantiles (see module docstring);
    the normal distribution's before there are any."""

    def __init__(self, quantiles: np.ndarray | None = None) -> None:
        self.quantiles = quantiles

    def __call__(self, value: float) -> float:
        q = self.quantiles
        if q is None:
            return _normal_surprise(value)
        grid = len(q) - 1
        shoulder = q[round(_SHOULDER * grid)]
        if value <= shoulder:
            position = np.searchsorted(q, value, side="left") / len(q)
            return float(-np.log10(max(1.0 - position, 1.0 - _SHOULDER)))
        knee = q[round(_KNEE * grid)]
        rate = max(knee - shoulder, 1e-9) / np.log((1.0 - _SHOULDER) / (1.0 - _KNEE))
        return float(-np.log10(1.0 - _SHOULDER) + (value - shoulder) / rate / np.log(10.0))


def _normal_surprise(distance: float) -> float:
    return float(-norm.logsf(distance) / np.log(10.0))


def _run_statistic(z: list[float], max_run: int) -> tuple[float, int]:
    """Largest standardised sum of the last ``L >= 2`` winsorised residuals, on the latest one's side.

    Under no change the sum over ``L`` steps divided by ``sqrt(L)`` is about standard normal; a
    shift of ``d`` standard deviations grows it like ``d * sqrt(L)``, while one spike adds at most
    ``3 / sqrt(L)``.
    """
    best, best_run = 0.0, 1
    if len(z) < 2 or z[-1] == 0:
        return best, best_run
    side = np.sign(z[-1])
    total = 0.0
    for run in range(1, min(max_run, len(z)) + 1):
        total += side * float(np.clip(z[-run], -_RUN_CLIP, _RUN_CLIP))
        statistic = total / np.sqrt(run)
        if run >= 2 and statistic > best:
            best, best_run = statistic, run
    return best, best_run


@dataclass
class _Scorers:
    """The surprise functions one pass uses (normal stand-ins before fitting)."""

    upper: _ShoulderTail
    lower: _ShoulderTail
    calendar_effect: tuple[float, float] = (0.0, 1.0)
    per_series: dict = field(default_factory=dict)
    run: _ShoulderTail = field(default_factory=_ShoulderTail)

    def own(self, z: float, key: object = None) -> float:
        upper, lower = self.per_series.get(key, (self.upper, self.lower))
        return upper(z) if z >= 0 else lower(-z)


@dataclass
class _Run:
    z: list[float] = field(default_factory=list)

    def push(self, z: float, max_run: int, scorers: _Scorers) -> tuple[float, float, int]:
        """Add a step; return the surprise of the strongest run ending here, its statistic and length."""
        self.z.append(z)
        statistic, length = _run_statistic(self.z, max_run)
        return (scorers.run(statistic) if statistic > 0 else 0.0), statistic, length


class _Series:
    """One series' values and what the detector remembers about it between steps."""

    def __init__(self, key: object, x: np.ndarray, calendar: np.ndarray, warm_up: int) -> None:
        n = len(x)
        self.key = key
        self.x, self.calendar, self.warm_up = x, calendar, warm_up
        self.clean = x.copy()
        self.level, self.previous_level = 0.0, None
        self.normal: list[float] = []
        self.current, self.back = _Run(), _Run()
        self.model, self.since_fit, self.fit_start, self.fitted_season = None, 0, 0, 1
        self.fallback_scale = float(np.nanstd(np.diff(x[:warm_up]))) if warm_up > 2 else 1.0
        self.expected = np.full(n, np.nan)
        self.residual = np.full(n, np.nan)
        self.z = np.full(n, np.nan)
        self.surprise = np.full(n, np.nan)
        self.kind = np.zeros(n, dtype=np.int64)
        self.onset = np.full(n, -1, dtype=np.int64)
        self.run_statistic = np.full(n, np.nan)
        self.pending: tuple[float, float, float, float] | None = None  # movement, centre, scale, base
        self.baseline = np.full(n, np.nan)  # expected value without the series' own level
        self.settle_from: int | None = None  # onset of the latest shift, whose level is still being measured
        self.settle_until = -1

    def centre_scale(self, window: int) -> tuple[float, float]:
        recent = np.asarray(self.normal[-window:])
        if len(recent) < 8:
            return 0.0, max(self.fallback_scale, 1e-9)
        centre = float(np.median(recent))
        return centre, max(float(np.median(np.abs(recent - centre))) * _MAD_TO_SD, 1e-9)


class _DecomposedETS:
    """A season too long for ETS to estimate (a week of half-hours: 336 initial states from three
    weeks of data) is taken out by statsforecast's MSTL at fit time, together with the shorter
    one, and frozen until the next refit; a non-seasonal ETS follows what is left. ``forward``
    has the ETS model's meaning: ``y`` starts where the fitted history started."""

    def __init__(self, history: np.ndarray, season: int, short_season: int, code: str) -> None:
        from statsforecast.models import AutoETS
        from statsforecast.mstl import mstl

        periods = [short_season, season] if 1 < short_season < season and season % short_season == 0 else [season]
        parts = mstl(history, periods)
        seasonal = parts.filter(regex="^seasonal").sum(axis=1).to_numpy()  # one period: "seasonal", several: "seasonal<p>"
        self.fitted_seasonal, self.last_cycle = seasonal, seasonal[-season:]
        self.model = AutoETS(season_length=1, model=code).fit(history - seasonal)

    def _seasonal(self, n: int) -> np.ndarray:
        known = self.fitted_seasonal[:n]
        later = np.arange(len(known), n + 1) - len(self.fitted_seasonal)
        return np.concatenate([known, self.last_cycle[later % len(self.last_cycle)]])

    def forward(self, y: np.ndarray, h: int) -> dict[str, np.ndarray]:
        if h != 1:
            raise ValueError("one step ahead only")
        seasonal = self._seasonal(len(y))
        step = self.model.forward(y=y - seasonal[: len(y)], h=1)["mean"]
        return {"mean": step + seasonal[len(y)]}


class KpiDetector(BaseEstimator):
    """Causal spike / level-shift detector for regularly spaced KPI series (see module docstring).

    Args:
        season_length: steps per seasonal cycle (7 for daily data with a weekly pattern; 1: none).
        fallback_season_length: the season fitted while a series' history is shorter than two
            cycles of ``season_length`` (a day's steps while a weekly cycle is learnt; 1: none).
        refit_every: steps between refits of a series' ETS parameters.
        min_history: steps of a series before its first score (its warm-up).
        history: most recent steps the ETS model is fitted on and carried over.
        scale_window: recent normal residuals behind the centre and scale.
        max_run: longest run of same-side steps weighed as a level shift.
        spike_threshold: own surprise from which a step is labelled a spike.
        shift_threshold: run surprise from which the level is moved.
        min_peers: series scored at a step for their median movement to be taken out (0: never).
        log_transform: model ``log1p(y)`` (multiplicative effects; the KPI must be >= 0).
        ets_model: statsforecast ETS code (error, trend, season), e.g. ``"ANA"``.
        n_reference: quantiles kept of each reference distribution.

    Attributes:
        upper_quantiles_, lower_quantiles_: reference quantiles of ``z`` above / below zero.
        series_quantiles_: the same per series (keyed by the id as text) with at least ``min_series_reference`` steps.
        run_quantiles_: reference quantiles of the run statistic (steps move together in high-frequency data).
        calendar_effect_: (location, scale multiplier) of calendar days' standardised residuals.
        surprise_quantiles_: reference quantiles of the surprise, for the 0..1 score.
        n_reference_rows_: reference steps the quantiles came from.
    """

    def __init__(
        self,
        season_length: int = 7,
        fallback_season_length: int = 1,
        refit_every: int = 28,
        min_history: int = 28,
        history: int = 364,
        scale_window: int = 56,
        max_run: int = 4,
        spike_threshold: float = 3.0,
        shift_threshold: float = 3.0,
        min_peers: int = 5,
        log_transform: bool = True,
        ets_model: str = "ANA",
        n_reference: int = 1000,
        min_series_reference: int = 300,
    ) -> None:
        self.season_length = season_length
        self.fallback_season_length = fallback_season_length
        self.refit_every = refit_every
        self.min_history = min_history
        self.history = history
        self.scale_window = scale_window
        self.max_run = max_run
        self.spike_threshold = spike_threshold
        self.shift_threshold = shift_threshold
        self.min_peers = min_peers
        self.log_transform = log_transform
        self.ets_model = ets_model
        self.n_reference = n_reference
        self.min_series_reference = min_series_reference

    def __setstate__(self, state: dict) -> None:
        # detectors saved before the fallback season existed had none
        state.setdefault("fallback_season_length", 1)
        super().__setstate__(state)

    @classmethod
    def for_frequency(cls, step: pd.Timedelta | str, **overrides: object) -> KpiDetector:
        """Settings for a series sampled every ``step``: daily and coarser keep the defaults (a
        weekly season). Finer data with at most 48 steps a day (hourly, half-hourly) also takes a
        week as its season, since business KPIs differ between weekdays and weekends (a day's
        steps until two weeks are known), refit weekly on three weeks; finer data still has no
        season (ETS cannot fit one that long) and four days of history. Two days are the warm-up."""
        step = pd.Timedelta(step)
        per_day = int(pd.Timedelta("1D") / step) if step < pd.Timedelta("1D") else 0
        if per_day <= 1:
            return cls(**overrides)
        common = {"min_history": 2 * per_day, "scale_window": max(per_day, 56)}
        if per_day <= _MAX_DAILY_SEASON:
            week = 7 * per_day
            settings = {"season_length": week, "fallback_season_length": per_day, "refit_every": week, "history": 3 * week}
        else:
            settings = {"season_length": 1, "refit_every": max(per_day, 28), "history": 4 * per_day}
        return cls(**(common | settings | overrides))

    # ------------------------------------------------------------------------------------ API
    def fit(
        self,
        frame: pd.DataFrame,
        *,
        calendar_dates: Iterable | None = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
    ) -> KpiDetector:
        """Learn the residual and run tails, the calendar effect and the score calibration."""
        data, calendar = self._prepare(frame, calendar_dates, id_col, time_col, target_col)
        scorers = _Scorers(_ShoulderTail(), _ShoulderTail())
        series = self._run(data, calendar, id_col, time_col, target_col, scorers)
        z = np.concatenate([s.z for s in series])
        on_calendar = np.concatenate([s.calendar for s in series])
        scored = np.isfinite(z)
        if scored.sum() < 50:
            raise SchemaError(
                f"too little KPI history to learn from: {int(scored.sum())} scored steps after each series' "
                f"{self.min_history}-step warm-up (need at least 50)"
            )
        self.calendar_effect_ = self._calendar_effect(z[scored & on_calendar & (np.abs(z) < _CLIP)])
        plain = z[scored & ~on_calendar]
        self.upper_quantiles_, self.lower_quantiles_ = self._side_quantiles(plain)
        self.n_reference_rows_ = len(plain)
        scorers.upper.quantiles, scorers.lower.quantiles = self.upper_quantiles_, self.lower_quantiles_
        self.series_quantiles_ = {}
        for s in series:
            own = s.z[np.isfinite(s.z) & ~s.calendar]
            if len(own) >= self.min_series_reference:
                self.series_quantiles_[s.key] = self._side_quantiles(own)
        scorers.per_series = self._series_tails()
        scorers.calendar_effect = self.calendar_effect_
        statistics = np.concatenate([s.run_statistic for s in self._run(data, calendar, id_col, time_col, target_col, scorers)])
        self.run_quantiles_ = reference_quantiles(statistics[np.isfinite(statistics)], self.n_reference)
        scorers.run = _ShoulderTail(self.run_quantiles_)
        surprise = np.concatenate([s.surprise for s in self._run(data, calendar, id_col, time_col, target_col, scorers)])
        self.surprise_quantiles_ = reference_quantiles(surprise[np.isfinite(surprise)], self.n_reference)
        return self

    def detect(
        self,
        frame: pd.DataFrame,
        *,
        calendar_dates: Iterable | None = None,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
    ) -> pd.DataFrame:
        """Score every step of every series causally.

        Returns the frame sorted by series and time, with ``expected`` (in the KPI's units),
        ``residual`` and ``z`` (on the model's scale), ``surprise``, ``anomaly_score`` (0..1; NaN
        during a series' warm-up), ``kind`` ('' / spike / level_shift / recovery), ``shift_onset``
        (the first step of a shift or recovery detected at this step) and ``is_calendar_day``.
        """
        check_is_fitted(self, "surprise_quantiles_")
        data, calendar = self._prepare(frame, calendar_dates, id_col, time_col, target_col)
        scorers = _Scorers(
            _ShoulderTail(self.upper_quantiles_),
            _ShoulderTail(self.lower_quantiles_),
            self.calendar_effect_,
            self._series_tails(),
            _ShoulderTail(self.run_quantiles_),
        )
        series = self._run(data, calendar, id_col, time_col, target_col, scorers)
        expected = np.concatenate([s.expected for s in series])
        result = data.copy()
        result["expected"] = np.expm1(expected) if self.log_transform else expected
        result["residual"] = np.concatenate([s.residual for s in series])
        result["z"] = np.concatenate([s.z for s in series])
        surprise = np.concatenate([s.surprise for s in series])
        result["surprise"] = surprise
        result["anomaly_score"] = self.calibrate(surprise)
        result["kind"] = pd.Categorical.from_codes(np.concatenate([s.kind for s in series]), categories=list(KPI_KINDS))
        times = data[time_col].to_numpy()
        offsets = np.cumsum([0] + [len(s.x) for s in series[:-1]])
        onset = np.concatenate([np.where(s.onset >= 0, s.onset + offset, -1) for s, offset in zip(series, offsets, strict=True)])
        result["shift_onset"] = np.where(onset >= 0, times[np.maximum(onset, 0)], np.datetime64("NaT"))
        result["is_calendar_day"] = calendar
        return result

    def calibrate(self, surprise: np.ndarray) -> np.ndarray:
        """Surprises as 0..1: the share of reference steps less surprising (NaN stays NaN)."""
        check_is_fitted(self, "surprise_quantiles_")
        surprise = np.asarray(surprise, dtype=np.float64)
        out = np.full(len(surprise), np.nan)
        known = np.isfinite(surprise)
        out[known] = 1.0 - 10.0 ** -tail_surprise(surprise[known], self.surprise_quantiles_, self.n_reference_rows_)
        return out

    # -------------------------------------------------------------------------------- helpers
    def _side_quantiles(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quantiles of each side's distance from zero (the other side counts as zero)."""
        return reference_quantiles(np.maximum(z, 0.0), self.n_reference), reference_quantiles(np.maximum(-z, 0.0), self.n_reference)

    def _series_tails(self) -> dict:
        return {
            key: (_ShoulderTail(upper), _ShoulderTail(lower))
            for key, (upper, lower) in self.series_quantiles_.items()
        }

    def _prepare(self, frame, calendar_dates, id_col, time_col, target_col) -> tuple[pd.DataFrame, np.ndarray]:
        missing = [c for c in (id_col, time_col, target_col) if c not in frame.columns]
        if missing:
            raise SchemaError(f"KPI frame lacks column(s) {missing}; expected {id_col}, {time_col}, {target_col}")
        data = frame[[id_col, time_col, target_col]].copy()
        data[time_col] = pd.to_datetime(data[time_col])
        data = data.sort_values([id_col, time_col], kind="stable").reset_index(drop=True)
        if data.duplicated([id_col, time_col]).any():
            raise SchemaError(f"KPI frame has several rows for one ({id_col}, {time_col}); expected one per step")
        values = pd.to_numeric(data[target_col], errors="coerce")
        if self.log_transform and (values < 0).any():
            raise SchemaError(f"column {target_col!r} has negative values; a log-transformed KPI must be >= 0 (log_transform: false)")
        if calendar_dates is None:
            calendar = np.zeros(len(data), dtype=bool)
        else:
            days = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(calendar_dates)))).normalize()
            calendar = data[time_col].dt.normalize().isin(days).to_numpy()
        return data, calendar

    def _calendar_effect(self, z: np.ndarray) -> tuple[float, float]:
        if len(z) < 8:
            return 0.0, 1.0
        location = float(np.median(z))
        return location, max(float(np.median(np.abs(z - location)) * _MAD_TO_SD), 1.0)

    def _fit_model(self, history: np.ndarray):
        from statsforecast.models import AutoETS

        for season in (self.season_length, self.fallback_season_length):
            if season > 1 and len(history) >= 2 * season + 2:
                if season > _MAX_ETS_SEASON:
                    return _DecomposedETS(history, season, self.fallback_season_length, self.ets_model[:2] + "N"), season
                return AutoETS(season_length=season, model=self.ets_model).fit(history), season
        return AutoETS(season_length=1, model=self.ets_model[:2] + "N").fit(history), 1

    def _run(self, data, calendar, id_col, time_col, target_col, scorers: _Scorers) -> list[_Series]:
        """The step loop over all series (module docstring); returns each series' state."""
        raw = pd.to_numeric(data[target_col], errors="coerce").to_numpy(dtype=np.float64)
        x_all = np.log1p(raw) if self.log_transform else raw
        codes, _ = pd.factorize(data[id_col], sort=False)
        bounds = np.flatnonzero(np.diff(codes)) + 1
        starts, ends = np.r_[0, bounds], np.r_[bounds, len(codes)]
        keys = data[id_col].to_numpy()
        series = [
            _Series(str(keys[a]), x_all[a:b].copy(), calendar[a:b], min(self.min_history, b - a))
            for a, b in zip(starts, ends, strict=True)
        ]
        times = data[time_col].to_numpy()
        step_codes, _ = pd.factorize(times, sort=True)
        order = np.argsort(step_codes, kind="stable")
        breaks = np.flatnonzero(np.diff(step_codes[order])) + 1
        which = np.searchsorted(ends, np.arange(len(codes)), side="right")
        for rows in np.split(order, breaks):
            active = [(series[which[r]], r - starts[which[r]]) for r in rows]
            scored = [(s, t) for s, t in active if t >= s.warm_up and np.isfinite(s.x[t])]
            for s, t in scored:
                self._expect(s, t)
            movement = [s.pending[0] for s, _ in scored]
            common = float(np.median(movement)) if self.min_peers and len(movement) >= self.min_peers else 0.0
            for s, t in scored:
                self._judge(s, t, common, scorers)
            for s, t in active:
                if t >= s.warm_up and not np.isfinite(s.x[t]):
                    self._expect(s, t)
                    s.clean[t] = s.pending[3]  # a missing step: the forecast's history carries the expected value
        return series

    def _expect(self, s: _Series, t: int) -> None:
        if s.model is None or s.since_fit >= self.refit_every:
            s.fit_start = max(0, t - self.history)
            (s.model, s.fitted_season), s.since_fit = self._fit_model(s.clean[s.fit_start:t]), 0
        s.since_fit += 1
        # filtered from the step the fit began at: the model's initial states (the seasonal ones
        # included) belong to that step, and a window sliding with t would shift the season's phase
        base = float(s.model.forward(y=s.clean[s.fit_start:t], h=1)["mean"][0])
        centre, scale = s.centre_scale(self.scale_window)
        s.pending = (s.x[t] - (base + s.level) - centre, centre, scale, base)

    def _judge(self, s: _Series, t: int, common: float, scorers: _Scorers) -> None:
        _, centre, scale, base = s.pending
        location, spread = scorers.calendar_effect if s.calendar[t] else (0.0, 1.0)
        settling = s.settle_from is not None and t <= s.settle_until
        if settling:
            # the new level is re-estimated from every step since the onset (causal: steps before t)
            since = slice(s.settle_from, t)
            s.level = float(np.median(s.x[since] - s.baseline[since]))
            s.clean[since] = s.x[since] - s.level
        s.baseline[t] = base + centre + common
        expected = base + s.level + centre + common
        residual = s.x[t] - expected
        z = (residual / scale - location) / spread
        own = scorers.own(z, s.key)
        run, statistic, length = s.current.push(z, self.max_run, scorers)
        surprise = max(own, run)
        if s.previous_level is not None:
            z_back = ((s.x[t] - (expected - s.level + s.previous_level)) / scale - location) / spread
            own_back = scorers.own(z_back, s.key)
            run_back, _, _ = s.back.push(z_back, self.max_run, scorers)
            surprise = min(surprise, max(own_back, run_back))
            own = min(own, own_back)
        s.expected[t], s.residual[t], s.z[t], s.surprise[t] = expected, residual, z, surprise
        s.run_statistic[t] = statistic
        if settling:
            s.current, s.back = _Run(), _Run()
        elif run >= self.shift_threshold and s.fitted_season < self.season_length:
            # the season is still being learnt: a shift may be its first weekend, so it is alerted
            # but the history keeps it, for the seasonal fit to see
            s.kind[t], s.onset[t] = 2, t - length + 1
            s.current, s.back = _Run(), _Run()
        elif run >= self.shift_threshold:
            first = t - length + 1
            new_level = s.level + float(np.median(s.x[first : t + 1] - s.expected[first : t + 1]))
            returning = s.previous_level is not None and abs(new_level - s.previous_level) < 2 * scale
            s.kind[t] = 3 if returning else 2  # earlier steps keep what was written about them then
            s.onset[t] = first
            s.previous_level, s.level = (None, new_level) if returning else (s.level, new_level)
            s.clean[first : t + 1] = s.x[first : t + 1] - s.level
            s.current, s.back = _Run(), _Run()
            s.settle_from, s.settle_until = first, t + 2 * self.max_run
            return
        if own >= self.spike_threshold:
            s.kind[t] = 1
        # the forecast's history is winsorised: an outlier moves it no more than a 3-sigma step
        # and so is the scale's memory, which can still grow when the noise does
        clipped = float(np.clip(residual, -_CLIP * scale, _CLIP * scale))
        s.clean[t] = expected - s.level + clipped
        s.normal.append(clipped + centre)
