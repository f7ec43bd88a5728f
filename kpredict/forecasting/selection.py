"""Choosing forecasts from rolling-origin cross-validation, and honest residuals for the intervals.

A choice is a boolean matrix *series × candidates*: the forecast of a series is the mean of its
chosen candidates. Three rules:

* ``best``: per series, the candidate with the lowest CV score (MASE-scaled mean |error|);
* ``ensemble``: per series, the mean of its ``top_k`` candidates;
* ``combination``: one subset of at most ``top_k`` candidates for every series of a demand group,
  the subset whose *averaged* forecast has the lowest mean CV score (fewer choices, less noise);
  with ``own_gain`` a series keeps its own best subset instead, but only where that subset beat
  the group's in every one of at least two CV windows and by ``own_gain`` (a share) on average:
  per-series selection only where the gain is clear and stable.

Residuals for the conformal intervals are leave-one-window-out: the forecast scored on window w
is the one chosen from the other windows, so the intervals do not inherit the optimism of having
picked the model on the same errors.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from kpredict.forecasting.series import ID, TARGET

__all__ = ["WINDOW", "Choice", "choose", "cv_window_errors", "loo_residuals", "subset_window_errors"]

WINDOW = "window"


class Choice:
    """Chosen candidates per series (a boolean matrix) and how to apply it to candidate forecasts."""

    def __init__(self, ids: pd.Index, candidates: list[str], mask: np.ndarray) -> None:
        self.ids, self.candidates, self.mask = ids, candidates, mask

    def members(self) -> dict[str, list[str]]:
        names = np.asarray(self.candidates)
        return {uid: list(names[row]) for uid, row in zip(self.ids, self.mask) if row.any()}

    def combine(self, values: np.ndarray, row_series: np.ndarray) -> np.ndarray:
        """Mean of the chosen candidates' values for rows belonging to ``row_series`` (positions in ids)."""
        chosen = self.mask[row_series]
        total = np.where(chosen, np.nan_to_num(values), 0.0).sum(axis=1)
        count = chosen.sum(axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def cv_window_errors(cv: pd.DataFrame, candidates: list[str], scale: pd.Series) -> pd.DataFrame:
    """Scaled mean |error| per (series, window) and candidate; window 0 is each series' earliest."""
    errors = cv[candidates].sub(cv[TARGET], axis=0).abs()
    errors[ID] = cv[ID].to_numpy()
    errors[WINDOW] = cv[WINDOW].to_numpy()
    per_window = errors.groupby([ID, WINDOW], sort=True).mean()
    return per_window.div(scale.reindex(per_window.index.get_level_values(ID)).to_numpy(), axis=0)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    filled = np.where(np.isnan(scores), np.inf, scores)
    order = np.argsort(filled, axis=1, kind="stable")[:, :k]
    mask = np.zeros_like(filled, dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask & np.isfinite(filled)


def choose(scores: pd.DataFrame, rule: str, k: int, subset_scores: pd.DataFrame | None = None, *,
           subset_windows: pd.DataFrame | None = None, own_gain: float | None = None) -> Choice:
    """The choice from per-series scores (rows: series, columns: candidates).

    ``subset_windows`` (per series and window, as :func:`subset_window_errors` returns) and
    ``own_gain`` let a series of the combination rule keep its own subset (see the module's doc).
    """
    candidates = list(scores.columns)
    values = scores.to_numpy(dtype=float)
    if rule == "best":
        mask = _top_k(values, 1)
    elif rule == "ensemble":
        mask = _top_k(values, k)
    elif rule == "combination":
        if subset_scores is None or subset_scores.empty:
            raise ValueError("the combination rule needs the scores of every subset")
        mean = subset_scores.mean(axis=0, skipna=True)
        complete = subset_scores.notna().all(axis=0)
        best = mean[complete].idxmin() if complete.any() else mean.idxmin()
        mask = np.zeros_like(values, dtype=bool)
        mask[:, [candidates.index(name) for name in best.split("+")]] = True
        if own_gain is not None and subset_windows is not None:
            own = _clearly_better_own_subsets(subset_windows.reindex(columns=subset_scores.columns), best, own_gain).reindex(scores.index)
            for subset, rows in own.dropna().groupby(own.dropna()).groups.items():
                at = scores.index.get_indexer(rows)
                mask[at] = False
                mask[np.ix_(at, [candidates.index(name) for name in subset.split("+")])] = True
        mask &= ~np.isnan(values)
    else:
        raise ValueError(f"unknown selection rule {rule!r}")
    return Choice(scores.index, candidates, mask)


def _clearly_better_own_subsets(errors: pd.DataFrame, group_subset: str, gain: float) -> pd.Series:
    """Per series, its own best subset where it beat ``group_subset`` in every window (at least two)
    and by ``gain`` on average; NaN elsewhere."""
    means = errors.groupby(level=ID, sort=True).mean()
    others = means.drop(columns=[group_subset]).dropna(axis=1, how="all")
    if others.empty:
        return pd.Series(np.nan, index=means.index, dtype=object)
    own = others.fillna(np.inf).idxmin(axis=1)  # a series without any score gets a column it cannot win with
    series = errors.index.get_level_values(ID)
    column = pd.Index(errors.columns).get_indexer(own.reindex(series).to_numpy())
    values = errors.to_numpy(dtype=float)
    picked = values[np.arange(len(errors)), column]
    group = errors[group_subset].to_numpy(dtype=float)
    frame = pd.DataFrame({"beats": picked < group, "own": picked, "group": group, "n": np.isfinite(picked - group)}, index=series)
    per = frame.groupby(level=0, sort=True).agg(beats=("beats", "all"), own=("own", "mean"), group=("group", "mean"), n=("n", "sum"))
    clear = per["beats"] & (per["n"] >= 2) & (per["own"] <= (1 - gain) * per["group"])
    return own.where(clear.reindex(own.index, fill_value=False))


def subset_window_errors(cv: pd.DataFrame, candidates: list[str], scale: pd.Series, k: int) -> pd.DataFrame:
    """Scaled mean |error| per (series, window) of the averaged forecast of every subset of <= k candidates.

    A member with no forecast for a series is left out of the mean there, as ``Choice.combine`` does.
    """
    values = cv[candidates].to_numpy(dtype=float)
    y = cv[TARGET].to_numpy(dtype=float)
    columns = {}
    for size in range(1, min(k, len(candidates)) + 1):
        for subset in combinations(range(len(candidates)), size):
            chosen = values[:, subset]
            present = np.isfinite(chosen).sum(axis=1)
            # as the choice is applied: the mean of the members that forecast the series
            mean = np.where(present > 0, np.nansum(chosen, axis=1) / np.maximum(present, 1), np.nan)
            columns["+".join(candidates[i] for i in subset)] = np.abs(mean - y)
    frame = pd.DataFrame(columns)
    frame[ID] = cv[ID].to_numpy()
    frame[WINDOW] = cv[WINDOW].to_numpy()
    per_window = frame.groupby([ID, WINDOW], sort=True).mean()
    return per_window.div(scale.reindex(per_window.index.get_level_values(ID)).to_numpy(), axis=0)


def loo_residuals(cv: pd.DataFrame, candidates: list[str], window_errors: pd.DataFrame, rule: str, k: int,
                  subset_errors: pd.DataFrame | None, final: Choice, own_gain: float | None = None) -> pd.DataFrame:
    """Forecast − actual on each CV row, the forecast chosen without that row's window.

    Series with a single window have nothing to leave out; their residuals use ``final``.
    """
    ids = final.ids
    position = pd.Series(np.arange(len(ids)), index=ids)
    row_series = position.reindex(cv[ID]).to_numpy()
    values = cv[candidates].to_numpy(dtype=float)
    forecast = np.full(len(cv), np.nan)
    windows = window_errors.index.get_level_values(WINDOW)
    total = window_errors.groupby(level=ID, sort=True).sum(min_count=1).reindex(ids)
    count = window_errors.groupby(level=ID, sort=True).count().reindex(ids)
    subset_total = subset_count = None
    if subset_errors is not None:
        subset_total = subset_errors.groupby(level=ID, sort=True).sum(min_count=1).reindex(ids)
        subset_count = subset_errors.groupby(level=ID, sort=True).count().reindex(ids)
    for window in np.unique(windows):
        held = window_errors.xs(window, level=WINDOW).reindex(ids)
        loo = (total - held.fillna(0)) / (count - held.notna().astype(int))
        loo = loo.where(count - held.notna().astype(int) > 0)
        subsets = None
        if subset_errors is not None:
            held_subsets = subset_errors.xs(window, level=WINDOW).reindex(ids)
            left = subset_count - held_subsets.notna().astype(int)
            subsets = ((subset_total - held_subsets.fillna(0)) / left).where(left > 0)
        remaining = subset_errors[subset_errors.index.get_level_values(WINDOW) != window] if subset_errors is not None else None
        choice = choose(loo, rule, k, subsets, subset_windows=remaining, own_gain=own_gain) if loo.notna().any().any() else final
        single = count.max(axis=1).to_numpy() <= 1
        mask = np.where(single[:, None], final.mask, choice.mask)
        rows = cv[WINDOW].to_numpy() == window
        forecast[rows] = Choice(ids, candidates, mask).combine(values[rows], row_series[rows])
    return pd.DataFrame({ID: cv[ID].to_numpy(), "step": cv["step"].to_numpy(), "error": forecast - cv[TARGET].to_numpy()})
