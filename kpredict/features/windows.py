"""Vectorised kernels that evaluate per-entity event aggregates at arbitrary query times.

Events are sorted by (entity code, time). For a query (code, t) the rows "visible" at t form one
contiguous slice ``[lo, hi)`` of that sorted array, so every aggregate is a slice reduction:

* count / sum / mean / std — differences of per-entity running sums (restarted at each entity,
  so rows of one entity can never move another entity's values, not even by rounding);
* min / max — a sparse table over the slice lengths that actually occur (log2 of the longest
  slice in rows, not of the table), two lookups per query;
* latest / lag — one index lookup;
* time-decayed sums — running sums rescaled per segment of half-lives (``decayed_sums``).

Why not ``groupby().rolling()``: it cannot evaluate at times where no event happened (the moments
an event leaves a window) and measured 20x slower than this on 2M rows x 100k entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

__all__ = ["SortedEvents", "count_visible", "decayed_sums", "search_order", "slice_aggregate", "slice_pick", "window_slices"]


_NS = 1_000_000_000


@dataclass(frozen=True)
class SortedEvents:
    """Events sorted by (entity code, time); ``codes`` int64, ``times`` int64 nanoseconds."""

    codes: np.ndarray
    times: np.ndarray

    @cached_property
    def block_start(self) -> np.ndarray:
        """For each event, the index of the first event of its entity."""
        n = len(self.codes)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        new_block = np.empty(n, dtype=bool)
        new_block[0] = True
        np.not_equal(self.codes[1:], self.codes[:-1], out=new_block[1:])
        starts = np.flatnonzero(new_block)
        return np.repeat(starts, np.diff(np.append(starts, n))).astype(np.int64)

    @cached_property
    def distinct_times(self) -> np.ndarray:
        """The distinct event times, sorted."""
        return np.unique(self.times)

    @property
    def key_width(self) -> np.int64:
        return np.int64(len(self.distinct_times) + 1)

    @cached_property
    def second_keys(self) -> tuple[np.ndarray, int, int] | None:
        """``(keys, first second, key width)`` when every event time is a whole second and the keys
        fit in int64: ``code * width + 1 + seconds since the first event``. None otherwise."""
        if len(self.times) == 0 or (self.times % _NS).any():
            return None
        seconds = self.times // _NS
        first, span = int(seconds.min()), int(seconds.max() - seconds.min())
        width = span + 3  # query seconds are clipped to [first - 1, last + 1]: 0 .. span + 2
        if (int(self.codes.max()) + 1) * width >= 2**62:
            return None
        return self.codes.astype(np.int64) * width + (seconds - first + 1), first, width

    @cached_property
    def time_keys(self) -> np.ndarray:
        """``code * key_width + rank of the event's time``: sorted, since events are sorted by (code, time)."""
        ranks = np.searchsorted(self.distinct_times, self.times, side="left").astype(np.int64)
        return self.codes.astype(np.int64) * self.key_width + ranks


def _whole_seconds(events: SortedEvents, times: np.ndarray) -> bool:
    return events.second_keys is not None and not (times % _NS).any()


def search_order(events: SortedEvents, times: np.ndarray) -> np.ndarray | None:
    """The ``time_order`` to pass to :func:`count_visible` for these query times (None when the
    whole-second keys apply and no order is needed)."""
    return None if _whole_seconds(events, times) else np.argsort(times, kind="stable")


def count_visible(events: SortedEvents, codes: np.ndarray, times: np.ndarray, *, inclusive: bool, time_order: np.ndarray | None = None) -> np.ndarray:
    """Global index one past the last event of the same entity at/before each query time.

    ``inclusive`` counts events at exactly the query time as visible. For an entity without
    visible events the result is the position where its block would start (an empty slice).

    Timestamps to the whole second (most business data) make ``(code, second)`` keys that fit in
    int64: one search per call. Otherwise each query time becomes the number of distinct event
    times visible to it (event times are ranked once per view), and ``(code, count)`` is compared
    with the events' ``(code, rank)`` keys; ``time_order`` (an argsort of ``times`` shared by every
    window of a view) makes that first search run on sorted keys. No sort runs per window.
    """
    if len(events.codes) == 0:
        return np.zeros(len(codes), dtype=np.int64)
    side = "right" if inclusive else "left"
    if _whole_seconds(events, times):
        keys, first, width = events.second_keys
        offset = np.clip(times // _NS - first + 1, 0, width - 1)
        return np.searchsorted(keys, codes.astype(np.int64) * width + offset, side=side).astype(np.int64)
    if time_order is None:
        visible = np.searchsorted(events.distinct_times, times, side=side).astype(np.int64)
    else:
        visible = np.empty(len(times), dtype=np.int64)
        visible[time_order] = np.searchsorted(events.distinct_times, times[time_order], side=side)
    query_keys = codes.astype(np.int64) * events.key_width + visible
    return np.searchsorted(events.time_keys, query_keys, side="left").astype(np.int64)


def window_slices(
    events: SortedEvents,
    codes: np.ndarray,
    times: np.ndarray,
    *,
    window_ns: int | None = None,
    periods: int | None = None,
    inclusive: bool = True,
    time_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``[lo, hi)`` slices of the events visible at each query.

    ``window_ns`` keeps events in ``(t - window, t]`` (``[t - window, t)`` when not inclusive);
    ``periods`` keeps the last ``periods`` visible events; neither keeps all visible events.
    """
    hi = count_visible(events, codes, times, inclusive=inclusive, time_order=time_order)
    if window_ns is not None:
        lo = count_visible(events, codes, times - np.int64(window_ns), inclusive=inclusive, time_order=time_order)
    else:
        lo = np.minimum(np.searchsorted(events.codes, codes, side="left").astype(np.int64), hi)
        if periods is not None:
            lo = np.maximum(lo, hi - periods)
    return np.minimum(lo, hi), hi


def _running_sum(values: np.ndarray, events: SortedEvents) -> np.ndarray:
    """Inclusive running sums restarted at each entity block (pandas' grouped cumsum, in C)."""
    return pd.Series(values).groupby(events.block_start, sort=False).cumsum().to_numpy(np.float64)


def _slice_sum(running: np.ndarray, events: SortedEvents, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    nonempty = hi > lo
    out = np.zeros(len(lo), dtype=np.float64)
    last = hi[nonempty] - 1
    first = lo[nonempty]
    before = np.where(first > events.block_start[last], running[np.maximum(first - 1, 0)], 0.0)
    out[nonempty] = running[last] - before
    return out


def slice_aggregate(values: np.ndarray, events: SortedEvents, lo: np.ndarray, hi: np.ndarray, agg: str) -> np.ndarray:
    """Aggregate ``values`` (aligned with events; NaN = missing) over each ``[lo, hi)`` slice.

    Empty slices give 0 for count and sum, NaN otherwise; ``std`` is the sample standard
    deviation (NaN below two values).
    """
    values = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(values)
    count = _slice_sum(_running_sum(present.astype(np.float64), events), events, lo, hi)
    if agg == "count":
        return count
    if agg in ("min", "max"):
        return _slice_extreme(values, lo, hi, np.fmin if agg == "min" else np.fmax)
    filled = np.where(present, values, 0.0)
    if agg == "sum":
        return _slice_sum(_running_sum(filled, events), events, lo, hi)
    if agg == "mean":
        total = _slice_sum(_running_sum(filled, events), events, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
    if agg == "std":
        # Centre on each entity's first present value: it never depends on later rows, and it keeps
        # the sum of squares small so the difference of running sums loses no precision.
        anchor = _first_present(filled, present, events)
        centred = np.where(present, values - anchor, 0.0)
        s1 = _slice_sum(_running_sum(centred, events), events, lo, hi)
        s2 = _slice_sum(_running_sum(centred * centred, events), events, lo, hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (s2 - s1 * s1 / np.maximum(count, 1)) / (count - 1)
        return np.where(count > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)
    raise ValueError(f"unknown aggregation {agg!r}")


def _first_present(filled: np.ndarray, present: np.ndarray, events: SortedEvents) -> np.ndarray:
    """Per event, the first present value of its entity (0 when the entity has none yet)."""
    idx = np.where(present, np.arange(len(filled)), -1)
    first_idx = pd.Series(idx).replace(-1, np.nan).groupby(events.block_start, sort=False).transform("first")
    first_idx = first_idx.to_numpy()
    out = np.zeros(len(filled))
    ok = ~np.isnan(first_idx)
    out[ok] = filled[first_idx[ok].astype(np.int64)]
    return out


def _slice_extreme(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, combine: np.ufunc) -> np.ndarray:
    """Min or max over slices through a sparse table sized by the longest slice."""
    out = np.full(len(lo), np.nan)
    length = hi - lo
    nonempty = length > 0
    if not nonempty.any():
        return out
    levels = [values]
    longest = int(length.max())
    span = 1
    while span * 2 <= longest:
        prev = levels[-1]
        nxt = prev.copy()
        nxt[: len(prev) - span] = combine(prev[: len(prev) - span], prev[span:])
        levels.append(nxt)
        span *= 2
    k = np.floor(np.log2(np.maximum(length[nonempty], 1))).astype(np.int64)
    lo_ne, hi_ne = lo[nonempty], hi[nonempty]
    left = np.empty(len(k))
    right = np.empty(len(k))
    for level in np.unique(k):
        mask = k == level
        table = levels[level]
        left[mask] = table[lo_ne[mask]]
        right[mask] = table[hi_ne[mask] - (1 << level)]
    out[nonempty] = combine(left, right)
    return out


# Half-lives per rebasing segment: 2 ** 512 is far inside float64, and a row one segment older
# than the segment's base is scaled by 2 ** -512, which no sum of realistic values survives.
_SEGMENT = 512.0


def decayed_sums(values: np.ndarray, events: SortedEvents, half_life_ns: float) -> np.ndarray:
    """Per event, the sum over the same entity's events up to it of ``value * 2 ** (-age / half_life)``.

    The recursion ``D_i = v_i + D_(i-1) * 2 ** (-(t_i - t_(i-1)) / h)`` evaluated without a Python
    loop over events: within a segment of ``_SEGMENT`` half-lives the terms are rescaled to the
    segment's start and summed with running sums; what earlier segments left is carried from
    segment to segment (a loop over segment ranks only, a handful even for hourly half-lives over
    years). Exact up to float rounding, and never overflows.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    n = len(values)
    if n == 0:
        return np.zeros(0)
    age = (events.times - events.times[events.block_start]) / float(half_life_ns)  # half-lives since the entity's first event
    segment = np.floor(age / _SEGMENT)
    local = age - segment * _SEGMENT  # in [0, _SEGMENT)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = (events.codes[1:] != events.codes[:-1]) | (segment[1:] != segment[:-1])
    group = np.cumsum(new_group) - 1
    running = pd.Series(values * np.exp2(local)).groupby(group, sort=False).cumsum().to_numpy()
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], n) - 1
    totals = running[ends]
    group_segment = segment[starts]
    same_entity = np.zeros(len(starts), dtype=bool)
    same_entity[1:] = events.codes[starts[1:]] == events.codes[starts[:-1]]
    rank = np.zeros(len(starts), dtype=np.int64)  # position of the group within its entity
    if len(starts) > 1:
        entity_first = np.maximum.accumulate(np.where(~same_entity, np.arange(len(starts)), 0))
        rank = np.arange(len(starts)) - entity_first
    carry = np.zeros(len(starts))  # earlier segments' sum, scaled to this segment's base
    for r in range(1, int(rank.max()) + 1):
        current = np.flatnonzero(rank == r)
        previous = current - 1
        gap = group_segment[current] - group_segment[previous]
        carry[current] = (carry[previous] + totals[previous]) * np.exp2(-_SEGMENT * gap)
    return (running + carry[group]) * np.exp2(-local)


def slice_pick(values: np.ndarray, lo: np.ndarray, hi: np.ndarray, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Position ``hi - offset`` when it lies inside ``[lo, hi)``: (index array, valid mask).

    ``offset=1`` picks the latest visible row, ``offset=k`` the k-th latest (a lag).
    """
    index = hi - offset
    valid = index >= lo
    return np.where(valid, index, 0), valid
