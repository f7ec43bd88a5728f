"""Per-series model choice by rolling-origin cross-validation, with conformal intervals.

fit:     classify each series (smooth / erratic / intermittent / lumpy) → cross-validate its
         candidates (statsforecast ``cross_validation``; the LightGBM global model through
         mlforecast) over as many windows as its length allows → keep the best model, or the
         mean of the best ``top_k``, per series → pool scaled CV residuals of that choice into
         conformal interval widths per demand group and horizon step.
predict: refit each series' chosen statistical models on the history given (cheap, and always
         on the latest data), predict the global model with its stored booster, combine, add
         intervals. Series too short for cross-validation get the configured fallback model,
         recorded per series.

The fitted state is JSON (choices, widths, settings) plus the booster as text: nothing pickled.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.forecasting.global_model import GLOBAL_NAME, GlobalModel, GlobalModelSettings
from kpredict.forecasting.intervals import conformal_quantiles, safe_scale
from kpredict.forecasting.metrics import naive_scale, naive_scale_at
from kpredict.forecasting.models import ModelSpec, build_model
from kpredict.forecasting.selection import WINDOW, choose, cv_window_errors, loo_residuals, subset_window_errors
from kpredict.forecasting.series import ID, TARGET, TIME, demand_class, integer_step

__all__ = ["Forecaster", "ForecasterSettings"]

logger = logging.getLogger(__name__)

STATE_FILE = "forecaster.json"
INTERMITTENT = ("intermittent", "lumpy")


@dataclass
class ForecasterSettings:
    """Everything that defines a forecaster; JSON-serialisable so a model is stored as text."""

    freq: str | int  # a pandas frequency, or an integer step for positions (statsforecast's freq=1)
    season_length: int
    horizon: int
    models: list[dict[str, Any]] = field(default_factory=lambda: [{"model": "AutoETS"}, {"model": "AutoTheta"}])
    intermittent_models: list[dict[str, Any]] = field(
        default_factory=lambda: [{"model": m} for m in ("CrostonSBA", "ADIDA", "IMAPA", "TSB")]
    )
    baselines: list[dict[str, Any]] = field(default_factory=lambda: [{"model": "SeasonalNaive"}, {"model": "Naive"}])
    fallback: dict[str, Any] = field(default_factory=lambda: {"model": "Naive"})
    # series too short to cross-validate: the mean of models that need little history (they drop
    # their season or trend themselves when the history cannot carry it); [] gives them the fallback
    short_models: list[dict[str, Any]] = field(default_factory=lambda: [{"model": "AutoETS"}, {"model": "AutoTheta"}])
    short_min_train: int = 4  # periods a short series' own CV window fits on (its interval residuals)
    global_model: dict[str, Any] | None = None
    cv_windows: int = 3
    cv_step: int | None = None
    min_train_length: int | None = None
    cv_input_size: int | None = None  # latest periods a statistical model fits on, in CV and at forecast time
    selection: Literal["best", "ensemble", "combination"] = "ensemble"
    top_k: int = 3
    own_gain: float | None = None  # combination: a series keeps its own subset where it clearly and stably wins by this share
    levels: list[int] = field(default_factory=lambda: [80, 95])
    nonnegative: bool = False
    n_jobs: int = 1
    # a member model whose forecast of a series reaches this many times the largest |value| of its
    # history has diverged (a multiplicative trend on a short or sparse series): it is left out of
    # that series' forecast; None keeps every forecast as the models give it
    divergence_ratio: float | None = 3.0

    def __post_init__(self) -> None:
        if self.horizon < 1 or self.season_length < 1 or self.cv_windows < 1 or self.top_k < 1 or self.short_min_train < 1:
            raise ConfigError("horizon, season_length, cv_windows, top_k and short_min_train must be at least 1")
        if any(not 0 < level < 100 for level in self.levels):
            raise ConfigError(f"interval levels must be between 0 and 100; got {self.levels}")
        for group in ("smooth", "lumpy"):
            own = self.intermittent_models if group == "lumpy" else self.models
            specs = [ModelSpec.parse(m) for m in [*own, *self.baselines]]
            by_name: dict[str, ModelSpec] = {}
            for spec in specs:
                if spec.name == GLOBAL_NAME:
                    raise ConfigError(f"{GLOBAL_NAME!r} is reserved for the global model; give that candidate another alias")
                if by_name.setdefault(spec.name, spec) != spec:
                    raise ConfigError(f"two forecasting candidates are named {spec.name!r}; give one an alias")

    @property
    def step(self) -> int:
        return self.cv_step or self.horizon

    @property
    def min_train(self) -> int:
        return self.min_train_length or max(2 * self.season_length, 8)

    def candidate_specs(self, group: str) -> list[ModelSpec]:
        """Statistical candidates for a demand class (baselines always compete)."""
        own = self.intermittent_models if group in INTERMITTENT else self.models
        specs = [ModelSpec.parse(m) for m in [*own, *self.baselines]]
        unique: dict[str, ModelSpec] = {}
        for spec in specs:
            unique.setdefault(spec.name, spec)
        return list(unique.values())

    def fallback_spec(self) -> ModelSpec:
        return ModelSpec.parse(self.fallback)

    def short_specs(self, group: str) -> list[ModelSpec]:
        """Models for series too short to cross-validate: the intermittent family for intermittent
        demand, else ``short_models``; none means the fallback."""
        entries = self.intermittent_models if group in INTERMITTENT else self.short_models
        return list({spec.name: spec for spec in map(ModelSpec.parse, entries)}.values())


def _statsforecast(specs: list[ModelSpec], settings: ForecasterSettings, *, progress: bool = False):
    from statsforecast import StatsForecast

    models = [build_model(spec, settings.season_length) for spec in specs]
    fallback = build_model(settings.fallback_spec(), settings.season_length)
    return StatsForecast(models=models, freq=settings.freq, n_jobs=settings.n_jobs, fallback_model=fallback, verbose=progress)


def _to_dask(df: pd.DataFrame, settings: ForecasterSettings):
    from kpredict.errors import require_extra

    require_extra("dask.dataframe", "dask")
    import dask.dataframe as dd

    partitions = max(1, min(df[ID].nunique(), 2 * max(1, settings.n_jobs)))
    # Partition by series so a series never straddles partitions.
    ids = pd.Index(sorted(df[ID].unique()))
    bucket = pd.Series(np.arange(len(ids)) * partitions // max(1, len(ids)), index=ids)
    parts = [df[df[ID].map(bucket) == p] for p in range(partitions)]
    return dd.concat([dd.from_pandas(part, npartitions=1, sort=False) for part in parts if len(part)])


def _cluster(engine: str, n_workers: int) -> AbstractContextManager:
    """The Dask client for the dask engine (one per fit or predict call); nothing for the local one."""
    if engine != "dask":
        return nullcontext()
    from kpredict.forecasting.dask_engine import dask_client

    return dask_client(n_workers)


def _run_forecast(specs: list[ModelSpec], df: pd.DataFrame, h: int, settings: ForecasterSettings, engine: str) -> pd.DataFrame:
    sf = _statsforecast(specs, settings)
    data = df[[ID, TIME, TARGET]]
    if engine == "dask":  # runs on the client opened by Forecaster.predict
        return _from_dask(sf.forecast(df=_to_dask(data, settings), h=h).compute(), [ID, TIME])
    return sf.forecast(df=data, h=h)


def _from_dask(out: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """fugue returns ids with the schema's string type, nullable floats and rows in partition order: normalise."""
    out[ID] = out[ID].astype(str)
    for column in out.columns.difference([ID, TIME, "cutoff"]):
        out[column] = out[column].astype(np.float64)
    for column in (TIME, "cutoff"):
        if column in out.columns:
            out[column] = out[column].astype(np.int64) if pd.api.types.is_integer_dtype(out[column]) else pd.to_datetime(out[column])
    return out.sort_values(order, kind="stable").reset_index(drop=True)


def _random_walk_widths(horizon: int, levels: list[int]) -> dict[str, list[float]]:
    from scipy.stats import norm

    steps = np.sqrt(np.arange(1, horizon + 1))
    return {str(level): [float(norm.ppf(0.5 + level / 200) * 1.25 * k) for k in steps] for level in levels}


class Forecaster:
    """Choose, per series, the model (or mean of models) that cross-validates best; forecast with intervals.

    Follows scikit-learn's split of settings (constructor) and learned state (attributes ending
    in ``_``). Input frames are Nixtla long frames already checked by
    :func:`kpredict.forecasting.series.prepare_series`.
    """

    def __init__(self, settings: ForecasterSettings | None = None, *, preset: str | None = None, progress: bool = False,
                 **overrides: Any) -> None:
        """``settings``, or a per-frequency ``preset`` ("yearly" ... "hourly", see
        :mod:`kpredict.forecasting.presets`) with ``overrides`` of any settings field."""
        if (settings is None) == (preset is None):
            raise ConfigError("give the forecaster either settings or a preset name (e.g. preset='monthly'), not both or neither")
        if settings is not None and overrides:
            raise ConfigError(f"settings overrides {sorted(overrides)} only go with a preset; change the ForecasterSettings instead")
        if preset is not None:
            from kpredict.forecasting.presets import preset_settings

            settings = preset_settings(preset, **overrides)
        self.settings = settings
        self.progress = progress  # statsforecast's progress bars during cross-validation
        self.selection_: pd.DataFrame | None = None
        self.cv_scores_: pd.DataFrame | None = None
        self.quantiles_: dict[str, dict[str, list[float]]] = {}
        self.class_default_: dict[str, list[str]] = {}
        self.global_: GlobalModel | None = None
        self.timings_: dict[str, float] = {}

    # ------------------------------------------------------------------ fit
    def fit(self, df: pd.DataFrame, *, engine: str = "local") -> Forecaster:
        """Cross-validate the candidates on ``df``, choose per series, calibrate intervals, fit the global model."""
        s = self.settings
        started = time.perf_counter()
        if df.empty:
            raise SchemaError("the forecasting input has no rows")
        classes = demand_class(df)
        lengths = df.groupby(ID, sort=True).size()
        windows = ((lengths - s.min_train - s.horizon) // s.step + 1).clip(lower=0, upper=s.cv_windows)
        all_zero = df[TARGET].abs().groupby(df[ID].to_numpy(), sort=True).max().reindex(lengths.index) == 0
        windows[all_zero] = 0  # nothing to choose between: the fallback forecasts zero
        group = classes.map(lambda c: "intermittent" if c in INTERMITTENT else "regular")

        cv_frames = []
        plan = pd.DataFrame({"group": group, "windows": windows}).groupby(["group", "windows"]).groups.items()
        with _cluster(engine, s.n_jobs):  # one cluster for every group: starting one costs seconds
            for (grp, n_windows), ids in plan:
                if n_windows == 0:
                    continue
                subset = df[df[ID].isin(ids)][[ID, TIME, TARGET]]
                specs = self.settings.candidate_specs("lumpy" if grp == "intermittent" else "smooth")
                logger.info("cross-validating %d %s series over %d window(s): %s", len(ids), grp, n_windows, [sp.name for sp in specs])
                sf = _statsforecast(specs, s, progress=self.progress)
                kwargs = {"h": s.horizon, "n_windows": int(n_windows), "step_size": s.step, "input_size": s.cv_input_size}
                if engine == "dask":
                    cv_frames.append(_from_dask(sf.cross_validation(df=_to_dask(subset, s), **kwargs).compute(), [ID, "cutoff", TIME]))
                else:
                    cv_frames.append(sf.cross_validation(df=subset, **kwargs))
            short_cv = self._cross_validate_short(df, lengths, windows, all_zero, group, engine)
        self.timings_["cv_statistical_s"] = time.perf_counter() - started

        cv = pd.concat(cv_frames, ignore_index=True) if cv_frames else pd.DataFrame(columns=[ID, TIME, "cutoff", TARGET])
        if s.global_model is not None:
            t = time.perf_counter()
            self.global_ = GlobalModel(GlobalModelSettings(**s.global_model), s.freq)
            eligible = windows[windows > 0].index
            if len(self.global_.eligible(df)) == 0:
                logger.warning("no series has the %d periods the global model needs; it is left out", self.global_.settings.min_length)
                self.global_ = None
            elif len(eligible) and len(cv):
                global_cv = self.global_.cross_validation(df[df[ID].isin(eligible)], s.horizon, s.cv_windows, s.step)
                cv = cv.merge(global_cv[[ID, TIME, "cutoff", GLOBAL_NAME]], on=[ID, TIME, "cutoff"], how="left")
                # a series the global model could not forecast in every one of its windows does not choose it
                incomplete = cv[GLOBAL_NAME].isna().groupby(cv[ID].to_numpy()).transform("any")
                cv.loc[incomplete.to_numpy(dtype=bool), GLOBAL_NAME] = np.nan
            if self.global_ is not None:
                self.global_.fit(df)
            self.timings_["global_model_s"] = time.perf_counter() - t

        scale = safe_scale(naive_scale(df, s.season_length), df)
        self._choose(cv, scale, classes, windows, df)
        self._choose_short(short_cv, scale, classes, windows, all_zero, df)
        self.timings_["fit_s"] = time.perf_counter() - started
        return self

    def _cross_validate_short(self, df: pd.DataFrame, lengths: pd.Series, windows: pd.Series, all_zero: pd.Series,
                              group: pd.Series, engine: str) -> pd.DataFrame:
        """CV of the short-series models on the short series themselves, over the windows their own
        length allows with ``short_min_train`` periods to fit on: residuals for their intervals."""
        s = self.settings
        short = (windows == 0) & ~all_zero
        own_windows = ((lengths - s.short_min_train - s.horizon) // s.step + 1).clip(lower=0, upper=s.cv_windows)
        frames = []
        plan = pd.DataFrame({"group": group[short], "windows": own_windows[short]}).groupby(["group", "windows"]).groups.items()
        for (grp, n_windows), ids in plan:
            specs = s.short_specs("lumpy" if grp == "intermittent" else "smooth")
            if n_windows == 0 or not specs:
                continue
            subset = df[df[ID].isin(ids)][[ID, TIME, TARGET]]
            logger.info("cross-validating %d short %s series over %d window(s) for their intervals: %s", len(ids), grp, n_windows, [sp.name for sp in specs])
            sf = _statsforecast(specs, s, progress=self.progress)
            kwargs = {"h": s.horizon, "n_windows": int(n_windows), "step_size": s.step}
            if engine == "dask":
                out = _from_dask(sf.cross_validation(df=_to_dask(subset, s), **kwargs).compute(), [ID, "cutoff", TIME])
            else:
                out = sf.cross_validation(df=subset, **kwargs)
            names = [spec.name for spec in specs]
            frames.append(pd.DataFrame({ID: out[ID].to_numpy(), TIME: out[TIME].to_numpy(), "cutoff": out["cutoff"].to_numpy(),
                                        TARGET: out[TARGET].to_numpy(), "forecast": out[names].mean(axis=1).to_numpy()}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[ID, TIME, "cutoff", TARGET, "forecast"])

    def _choose_short(self, short_cv: pd.DataFrame, scale: pd.Series, classes: pd.Series, windows: pd.Series,
                      all_zero: pd.Series, history: pd.DataFrame) -> None:
        """Series too short to cross-validate: the mean of the short-history models, a warning and
        their count, and interval widths from their own short CV (else their group's)."""
        s = self.settings
        short = (windows == 0) & ~all_zero
        if not short.any():
            return
        groups = classes.map(lambda c: "intermittent" if c in INTERMITTENT else "regular")
        selection = self.selection_.set_index(ID)
        counted = {}
        for grp in ("regular", "intermittent"):
            ids = short.index[short & (groups == grp)]
            names = [spec.name for spec in s.short_specs("lumpy" if grp == "intermittent" else "smooth")]
            if len(ids) == 0 or not names:
                continue
            counted[grp] = (len(ids), names)
            selection.loc[ids, "model"] = "+".join(names)
            selection.loc[ids, "members"] = json.dumps(names)
            selection.loc[ids, "chosen_by"] = (f"short history (cross-validation needs {s.min_train + s.horizon} periods): "
                                               "the mean of models that need little history")
            selection.loc[ids, "interval_group"] = "short"
        if not counted:
            return
        needed = s.min_train + s.horizon
        logger.warning(
            "%d series are too short to cross-validate (fewer than %d periods): they get the mean of %s; "
            "see chosen_by in the selection table",
            sum(n for n, _ in counted.values()), needed,
            " / ".join(f"{'+'.join(names)} ({n} {grp})" for grp, (n, names) in counted.items()),
        )
        if len(short_cv):
            cv = short_cv.sort_values([ID, "cutoff", TIME], kind="stable").reset_index(drop=True)
            residuals = pd.DataFrame({ID: cv[ID].to_numpy(), "step": cv.groupby([ID, "cutoff"], sort=False).cumcount().to_numpy() + 1,
                                      "error": (cv["forecast"] - cv[TARGET]).to_numpy()})
            if s.nonnegative:
                residuals["error"] = np.maximum(residuals["error"] + cv[TARGET].to_numpy(), 0) - cv[TARGET].to_numpy()
            residuals["scale"] = naive_scale_at(history, s.season_length, cv[[ID, "cutoff"]])
            self.quantiles_["short"] = conformal_quantiles(residuals, scale, s.horizon, s.levels)
        else:  # no short series is long enough for a window of its own: the widths of its group
            self.quantiles_["short"] = self.quantiles_["regular"]
        self.selection_ = selection.reset_index()

    def _choose(self, cv: pd.DataFrame, scale: pd.Series, classes: pd.Series, windows: pd.Series, history: pd.DataFrame) -> None:
        """Per demand group: choose from CV scores, record the choice, calibrate the intervals."""
        s = self.settings
        fallback = s.fallback_spec().name
        groups = classes.map(lambda c: "intermittent" if c in INTERMITTENT else "regular")
        candidates = [c for c in cv.columns if c not in (ID, TIME, "cutoff", TARGET)]
        members: dict[str, list[str]] = {}
        cv_score: dict[str, float] = {}
        score_frames = []
        if len(cv):
            cv = cv.sort_values([ID, "cutoff", TIME], kind="stable").reset_index(drop=True)
            cv["step"] = cv.groupby([ID, "cutoff"], sort=False).cumcount() + 1
            cv[WINDOW] = cv.groupby(ID, sort=False)["cutoff"].rank(method="dense").astype(int) - 1
        for grp in ("regular", "intermittent"):
            part = cv[cv[ID].isin(groups.index[groups == grp])] if len(cv) else cv
            own = [c for c in candidates if len(part) and part[c].notna().any()]
            if not own:
                self.class_default_[grp] = [fallback]
                self.quantiles_[grp] = None
                continue
            window_errors = cv_window_errors(part, own, scale)
            scores = window_errors.groupby(level=ID, sort=True).mean()
            subset_errors = subset_window_errors(part, own, scale, s.top_k) if s.selection == "combination" else None
            subset_scores = subset_errors.groupby(level=ID, sort=True).mean() if subset_errors is not None else None
            final = choose(scores, s.selection, s.top_k, subset_scores, subset_windows=subset_errors, own_gain=s.own_gain)
            chosen = final.members()
            members |= chosen
            combined = final.combine(part[own].to_numpy(dtype=float), pd.Series(np.arange(len(final.ids)), index=final.ids).reindex(part[ID]).to_numpy())
            error = pd.Series(np.abs(combined - part[TARGET].to_numpy()), index=part[ID].to_numpy())
            cv_score |= (error.groupby(level=0).mean() / scale.reindex(final.ids)).dropna().to_dict()
            score_frames.append(scores)
            residuals = loo_residuals(part, own, window_errors, s.selection, s.top_k, subset_errors, final, s.own_gain)
            if s.nonnegative:
                residuals["error"] = np.maximum(residuals["error"] + part[TARGET].to_numpy(), 0) - part[TARGET].to_numpy()
            residuals["scale"] = naive_scale_at(history, s.season_length, part[[ID, "cutoff"]])
            self.quantiles_[grp] = conformal_quantiles(residuals, scale, s.horizon, s.levels)
            # series first seen at scoring get the group's best choice on average
            if s.selection == "combination":
                self.class_default_[grp] = next(iter(chosen.values()), [fallback])
            else:
                ranked = scores.mean().dropna().sort_values(kind="stable")
                self.class_default_[grp] = list(ranked.index[: (1 if s.selection == "best" else s.top_k)]) or [fallback]
        # a group without cross-validated series borrows the other group's interval widths; with no
        # CV residuals at all, a random walk's normal widths from the naive MAE (sigma ~ 1.25 MAE)
        known = [q for q in self.quantiles_.values() if q is not None]
        for grp, q in list(self.quantiles_.items()):
            if q is None:
                self.quantiles_[grp] = known[0] if known else _random_walk_widths(s.horizon, s.levels)
        self.cv_scores_ = pd.concat(score_frames).reindex(columns=candidates) if score_frames else pd.DataFrame(columns=candidates, dtype=float)

        rows = []
        for uid in classes.index:
            chosen_members = members.get(uid) or [fallback]
            rows.append(
                {
                    ID: uid, "demand_class": classes[uid], "cv_windows": int(windows.get(uid, 0)),
                    "model": "+".join(chosen_members), "members": json.dumps(chosen_members),
                    "cv_mase": cv_score.get(uid, np.nan),
                    "chosen_by": "cross-validation" if uid in members else "fallback (no cross-validation result: too short, all zero or every candidate failed)",
                    "interval_group": groups[uid],
                }
            )
        self.selection_ = pd.DataFrame(rows)

    # -------------------------------------------------------------- predict
    def predict(self, history: pd.DataFrame, *, future: pd.DataFrame | None = None, engine: str = "local") -> pd.DataFrame:
        """Forecast ``horizon`` periods after each series' last date, with intervals.

        Returns ``unique_id, ds, yhat, yhat_lo_<L>, yhat_hi_<L>..., model`` — exactly ``horizon``
        rows per series, in series order.
        """
        if self.selection_ is None:
            raise RuntimeError("the forecaster is not fitted")
        s = self.settings
        h = s.horizon
        plan = self._plan(history)
        needed: dict[str, list[str]] = {}
        for uid, members in plan["members"].items():
            for name in members:
                needed.setdefault(name, []).append(uid)

        specs = {spec.name: spec for grp in ("smooth", "lumpy") for spec in [*s.candidate_specs(grp), *s.short_specs(grp)]}
        fallback = s.fallback_spec()
        specs.setdefault(fallback.name, fallback)
        with _cluster(engine, s.n_jobs):
            predictions = self._predict_members(needed, specs, history, future, engine)

        index = self.future_index(history)
        frame = pd.DataFrame(index=index)
        yhat = np.zeros(len(index))
        counts = np.zeros(len(index))
        ceiling = self._ceiling(history, plan.index)
        diverged: dict[str, list[str]] = {}
        for name, values in predictions.items():
            aligned = values.reindex(index).to_numpy(dtype=float)
            chosen = plan["members"].map(lambda members, name=name: name in members).to_numpy(dtype=bool)
            missing = np.repeat(chosen, h) & np.isnan(aligned)
            if missing.any():
                raise RuntimeError(f"model {name} returned no forecast for {int(missing.sum())} row(s)")
            wild = chosen & (np.abs(np.nan_to_num(aligned)).reshape(-1, h).max(axis=1) > ceiling)
            for uid in plan.index[wild]:
                diverged.setdefault(uid, []).append(name)
            uses = np.repeat(chosen & ~wild, h)
            yhat[uses] += aligned[uses]
            counts[uses] += 1
        if diverged:
            yhat, counts = self._replace_diverged(diverged, plan, index, history, yhat, counts, engine)
        yhat = yhat / np.maximum(counts, 1)
        if s.nonnegative:
            yhat = np.maximum(yhat, 0)
        frame["yhat"] = yhat

        scale = safe_scale(naive_scale(history, s.season_length), history)
        row_scale = scale.reindex(index.get_level_values(ID)).to_numpy()
        step = np.tile(np.arange(h), len(index) // h) if len(index) else np.zeros(0, int)
        group = plan["group"].reindex(index.get_level_values(ID)).to_numpy()
        for level in s.levels:
            width = np.empty(len(index))
            for grp in self.quantiles_:
                q = np.asarray(self.quantiles_[grp][str(level)], dtype=float)
                mask = group == grp
                width[mask] = q[step[mask]] * row_scale[mask]
            lo = yhat - width
            frame[f"yhat_lo_{level}"] = np.maximum(lo, 0) if s.nonnegative else lo
            frame[f"yhat_hi_{level}"] = yhat + width
        frame["model"] = plan["model"].reindex(index.get_level_values(ID)).to_numpy()
        return frame.reset_index()

    def _ceiling(self, history: pd.DataFrame, ids: pd.Index) -> np.ndarray:
        """Per series (in ``ids`` order): the largest forecast that is not divergence, ``divergence_ratio``
        × the largest |value| of its history (inf without a ratio or for an all-zero history)."""
        ratio = self.settings.divergence_ratio
        if ratio is None:
            return np.full(len(ids), np.inf)
        largest = history[TARGET].abs().groupby(history[ID].to_numpy(), sort=True).max().reindex(ids).to_numpy(dtype=float)
        return np.where(largest > 0, ratio * largest, np.inf)

    def _replace_diverged(self, diverged: dict[str, list[str]], plan: pd.DataFrame, index: pd.MultiIndex, history: pd.DataFrame,
                          yhat: np.ndarray, counts: np.ndarray, engine: str) -> tuple[np.ndarray, np.ndarray]:
        """Series left with no member after the diverged ones were set aside get the fallback model;
        the ``model`` label of every such series says what was left out. Logged as one warning."""
        h = self.settings.horizon
        position = pd.Series(np.arange(len(plan)), index=plan.index)
        empty = [uid for uid in diverged if counts[position[uid] * h] == 0]
        if empty:
            fallback = self.settings.fallback_spec()
            out = _run_forecast([fallback], history[history[ID].isin(empty)], h, self.settings, engine).set_index([ID, TIME])[fallback.name]
            aligned = out.reindex(index).to_numpy(dtype=float)
            rows = np.repeat(plan.index.isin(empty), h)
            yhat[rows], counts[rows] = aligned[rows], 1
        for uid, names in diverged.items():
            kept = [m for m in plan.at[uid, "members"] if m not in names] or [self.settings.fallback_spec().name]
            plan.at[uid, "model"] = f"{'+'.join(kept)} ({'+'.join(names)} diverged)"
        logger.warning(
            "%d series: a model forecast more than %g x the largest value of the series' history and was left out of its forecast "
            "(%d of them fell back to %s); see the model column, e.g. %s",
            len(diverged), self.settings.divergence_ratio, len(empty), self.settings.fallback_spec().name, next(iter(diverged)),
        )
        return yhat, counts

    def _predict_members(self, needed: dict[str, list[str]], specs: dict[str, ModelSpec], history: pd.DataFrame, future: pd.DataFrame | None, engine: str) -> dict[str, pd.Series]:
        """Each needed model's forecasts for the series that chose it (statistical models refit on ``history``).

        Statistical models wanted by exactly the same series run in one StatsForecast call: each
        call starts a process pool or a Dask job, which costs more than the models on short series.
        """
        h = self.settings.horizon
        predictions: dict[str, pd.Series] = {}
        by_series: dict[tuple[str, ...], list[str]] = {}
        for name, ids in needed.items():
            if name == GLOBAL_NAME:
                if self.global_ is None:
                    raise RuntimeError("the selection names the global model but it is not fitted")
                out = self.global_.predict(history[history[ID].isin(ids)], h, future=None if future is None else future[future[ID].isin(ids)])
                predictions[name] = out.set_index([ID, TIME])[name]
            else:
                by_series.setdefault(tuple(sorted(ids)), []).append(name)
        for ids, names in by_series.items():
            subset = history[history[ID].isin(ids)]
            if self.settings.cv_input_size:  # fit on the same span the choice was made on
                subset = subset.groupby(ID, sort=False).tail(self.settings.cv_input_size)
            out = _run_forecast([specs[name] for name in names], subset, h, self.settings, engine).set_index([ID, TIME])
            predictions |= {name: out[name] for name in names}
        return predictions

    def _plan(self, history: pd.DataFrame) -> pd.DataFrame:
        """Per series in ``history``: chosen members, their label and the interval group."""
        selection = self.selection_.set_index(ID)
        ids = pd.Index(sorted(history[ID].unique()), name=ID)
        members = selection["members"].reindex(ids)
        classes = selection["demand_class"].reindex(ids)
        unseen = members.isna()
        if unseen.any():
            new_classes = demand_class(history[history[ID].isin(ids[unseen])])
            classes[unseen] = new_classes.reindex(ids[unseen]).to_numpy()
            logger.info("%d series were not in training; they get their demand class's best models", int(unseen.sum()))
        group = classes.map(lambda c: "intermittent" if c in INTERMITTENT else "regular")
        if "interval_group" in selection.columns:  # models saved before short series had their own widths lack it
            known = selection["interval_group"].reindex(ids)
            group = known.where(known.notna() & ~unseen, group)
        lengths = history.groupby(ID, sort=True).size().reindex(ids)
        fallback = [self.settings.fallback_spec().name]
        parsed = {text: json.loads(text) for text in members.dropna().unique()}  # few distinct choices
        chosen = members.map(parsed)
        for grp in ("regular", "intermittent"):
            default = list(self.class_default_.get(grp, fallback))
            new = unseen.to_numpy() & (group == grp).to_numpy()
            chosen[new] = pd.Series([default] * int(new.sum()), index=ids[new], dtype=object)
        # a new series shorter than a season cannot carry its group's seasonal choice: the short-history
        # models (or the fallback where there are none); so too a series that chose the global model
        # when the global model cannot forecast it
        too_short = unseen.to_numpy() & (lengths < self.settings.season_length).to_numpy()
        wants_global = chosen.map(lambda m: GLOBAL_NAME in m).to_numpy(dtype=bool)
        if self.global_ is None:
            too_short |= wants_global
        else:
            too_short |= wants_global & (lengths < self.global_.settings.min_length).to_numpy()
        for grp in ("regular", "intermittent"):
            rows = too_short & (group == grp).to_numpy()
            names = [spec.name for spec in self.settings.short_specs("lumpy" if grp == "intermittent" else "smooth")] or fallback
            chosen[rows] = pd.Series([names] * int(rows.sum()), index=ids[rows], dtype=object)
        group = group.where(~pd.Series(too_short, index=ids) | ("short" not in self.quantiles_), "short")
        return pd.DataFrame({"members": chosen, "model": chosen.map("+".join), "group": group})

    def future_index(self, history: pd.DataFrame) -> pd.MultiIndex:
        """(unique_id, ds) of the ``horizon`` periods after each series' last date."""
        last = history.groupby(ID, sort=True)[TIME].max()
        h = self.settings.horizon
        ids = np.repeat(last.index.to_numpy(), h)
        step = integer_step(self.settings.freq)
        if step is not None:
            positions = last.to_numpy(dtype=np.int64)[:, None] + step * np.arange(1, h + 1)
            return pd.MultiIndex.from_arrays([ids, positions.ravel()], names=[ID, TIME])
        offset = pd.tseries.frequencies.to_offset(self.settings.freq)
        steps = np.empty((len(last), h), dtype="datetime64[ns]")
        base = pd.DatetimeIndex(last.to_numpy())
        with warnings.catch_warnings():  # calendar offsets (MS, QS...) add element-wise; that is fine here
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            for k in range(h):
                steps[:, k] = (base + (k + 1) * offset).to_numpy()
        return pd.MultiIndex.from_arrays([ids, pd.DatetimeIndex(steps.ravel())], names=[ID, TIME])

    # ------------------------------------------------------------ storage
    def to_artifacts(self, directory: Path) -> None:
        """Write settings, choices and interval widths as JSON (+ the booster as text)."""
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "settings": asdict(self.settings),
            "quantiles": self.quantiles_,
            "class_default": self.class_default_,
            "has_global_model": self.global_ is not None,
        }
        (directory / STATE_FILE).write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        self.selection_.to_csv(directory / "selection.csv", index=False)
        if self.global_ is not None:
            self.global_.to_artifacts(directory)

    @classmethod
    def from_artifacts(cls, directory: Path) -> Forecaster:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
        model = cls(ForecasterSettings(**state["settings"]))
        model.quantiles_ = state["quantiles"]
        model.class_default_ = state["class_default"]
        model.selection_ = pd.read_csv(directory / "selection.csv", dtype={ID: str, "members": str, "model": str})
        if state["has_global_model"]:
            model.global_ = GlobalModel.from_artifacts(directory, model.settings.freq)
        return model
