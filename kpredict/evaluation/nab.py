"""The Numenta Anomaly Benchmark's scoring rules, so a KPI detector can be compared with NAB's
published scoreboard on the same files.

Implemented from NAB's documented algorithm (``nab/sweeper.py`` at v1.1): rows before the
probationary length are ignored; inside a labelled window only the earliest detection counts,
worth ``tp_weight`` at the window's start and falling along a scaled sigmoid towards its end; a
window without detection costs ``fn_weight``; every detection outside the windows costs
``fp_weight`` times a sigmoid of its distance past the previous window (-1 when there is none or it
lies more than three window widths back).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["NAB_PROFILES", "NabFile", "NabProfile", "NabScore", "nab_contributions", "nab_score", "read_nab"]


@dataclass(frozen=True)
class NabProfile:
    """One of NAB's cost matrices (``config/profiles.json``)."""

    tp_weight: float = 1.0
    fn_weight: float = 1.0
    fp_weight: float = 0.11


NAB_PROFILES: dict[str, NabProfile] = {
    "standard": NabProfile(1.0, 1.0, 0.11),
    "reward_low_FP_rate": NabProfile(1.0, 1.0, 0.22),
    "reward_low_FN_rate": NabProfile(1.0, 2.0, 0.11),
}


@dataclass(frozen=True)
class NabScore:
    """A file's raw (un-normalised) NAB score and its row-level confusion counts, as NAB reports them."""

    score: float
    tp: int
    fp: int
    fn: int
    tn: int


def _scaled_sigmoid(relative_position: float) -> float:
    if relative_position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * relative_position)) - 1.0


def _probation_rows(n_rows: int, probation_percent: float) -> int:
    return int(min(math.floor(probation_percent * n_rows), probation_percent * 5000))


def _window_rows(timestamps: pd.DatetimeIndex, windows: list[tuple[str, str]]) -> list[tuple[int, int]]:
    rows = []
    for start, end in windows:
        first = int(timestamps.searchsorted(pd.Timestamp(start), side="left"))
        last = int(timestamps.searchsorted(pd.Timestamp(end), side="right")) - 1
        if first > last:
            raise ValueError(f"anomaly window [{start}, {end}] holds no timestamp of the series")
        rows.append((first, last))
    return sorted(rows)


def _row_weights(n_rows: int, window_rows: list[tuple[int, int]], profile: NabProfile) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weighted score if it were a detection, and its window number (-1 outside)."""
    weight = np.empty(n_rows)
    window_of = np.full(n_rows, -1, dtype=np.int64)
    max_tp = _scaled_sigmoid(-1.0)
    previous: tuple[int, int] | None = None
    cursor = 0
    for number, (first, last) in enumerate([*window_rows, (n_rows, n_rows)]):
        for i in range(cursor, min(first, n_rows)):
            if previous is None:
                weight[i] = -1.0 * profile.fp_weight
            else:
                width = previous[1] - previous[0] + 1
                weight[i] = _scaled_sigmoid(abs(previous[1] - i) / (width - 1)) * profile.fp_weight
        if first >= n_rows:
            break
        width = last - first + 1
        for i in range(first, last + 1):
            weight[i] = _scaled_sigmoid(-(last - i + 1) / width) * profile.tp_weight / max_tp
            window_of[i] = number
        previous, cursor = (first, last), last + 1
    return weight, window_of


def nab_contributions(
    timestamps: pd.Series | pd.DatetimeIndex,
    detections: np.ndarray,
    windows: list[tuple[str, str]],
    *,
    profile: NabProfile | str = "standard",
    probation_percent: float = 0.15,
) -> tuple[np.ndarray, NabScore]:
    """Per-row contributions to the score (NAB's ``S(t)`` column) and the file's score.

    As in NAB's results files, a window's contribution sits on its first row: the weight of its
    earliest detection, or ``-fn_weight`` when nothing was detected; false positives sit on their
    own rows.
    """
    profile = NAB_PROFILES[profile] if isinstance(profile, str) else profile
    ts = pd.DatetimeIndex(timestamps)
    detected = np.asarray(detections, dtype=bool)
    if len(detected) != len(ts):
        raise ValueError(f"detections has {len(detected)} rows, timestamps {len(ts)}")
    window_rows = _window_rows(ts, windows)
    weight, window_of = _row_weights(len(ts), window_rows, profile)
    scorable = np.arange(len(ts)) >= _probation_rows(len(ts), probation_percent)
    contribution = np.zeros(len(ts))
    false_positive = detected & scorable & (window_of < 0)
    contribution[false_positive] = weight[false_positive]
    for number, (first, last) in enumerate(window_rows):
        hits = np.flatnonzero(detected[first : last + 1] & scorable[first : last + 1])
        contribution[first] = weight[first + hits[0]] if len(hits) else -profile.fn_weight
    in_window = (window_of >= 0) & scorable
    score = NabScore(
        score=float(contribution.sum()),
        tp=int((detected & in_window).sum()),
        fp=int(false_positive.sum()),
        fn=int((~detected & in_window).sum()),
        tn=int((~detected & scorable & (window_of < 0)).sum()),
    )
    return contribution, score


def nab_score(
    timestamps: pd.Series | pd.DatetimeIndex,
    detections: np.ndarray,
    windows: list[tuple[str, str]],
    *,
    profile: NabProfile | str = "standard",
    probation_percent: float = 0.15,
) -> NabScore:
    """A file's raw NAB score for boolean ``detections`` (see module docstring)."""
    return nab_contributions(timestamps, detections, windows, profile=profile, probation_percent=probation_percent)[1]


@dataclass(frozen=True)
class NabFile:
    """One series of a NAB-layout folder: its name (NAB's relative path), values and windows."""

    name: str
    frame: pd.DataFrame
    windows: list[tuple[str, str]]


def read_nab(root: str | Path) -> list[NabFile]:
    """The series of a folder laid out like NAB (``data/<category>/<file>.csv`` and
    ``labels/combined_windows.json``), in the order of the windows file."""
    import json

    root = Path(root)
    windows_path = root / "labels" / "combined_windows.json"
    if not windows_path.exists():
        raise FileNotFoundError(f"{windows_path} not found: expected NAB's labels/combined_windows.json under {root}")
    windows = json.loads(windows_path.read_text())
    files = []
    for name in sorted(windows):
        frame = pd.read_csv(root / "data" / name, parse_dates=["timestamp"])
        files.append(NabFile(name, frame, [tuple(w) for w in windows[name]]))
    return files
