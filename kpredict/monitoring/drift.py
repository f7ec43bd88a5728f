"""Population stability (PSI) of each input feature and of the score, against the training data.

At training, :func:`reference_profile` bins every feature (deciles of the training values, the
categories seen, a bucket for missing) and the holdout scores, and the profile travels in the
model's meta. At scoring, :func:`drift` puts the new rows in the same bins and compares shares:
``PSI = Σ (new − ref) · ln(new / ref)``. The usual reading: below 0.1 stable, 0.1–0.25 a
moderate shift, above 0.25 a shift worth acting on (:data:`PSI_ALERT`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["MIN_ROWS", "PSI_ALERT", "drift", "psi", "reference_profile"]

PSI_ALERT = 0.25
BINS = 10
MIN_ROWS = 100  # fewer rows on either side and a PSI is mostly noise: it is reported, not judged
_FLOOR = 1e-4  # an empty bin counts as this share, so the logarithm stays finite
_MIN_CATEGORY_SHARE = 0.01
_OTHER = "__other__"


def _numeric_profile(values: pd.Series, bins: int) -> dict[str, Any]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = numbers[np.isfinite(numbers)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if len(present) else np.array([])
    profile = {"type": "numeric", "edges": [float(e) for e in edges]}
    profile["shares"] = _numeric_shares(profile, numbers)
    return profile


def _numeric_shares(profile: dict[str, Any], numbers: np.ndarray) -> list[float]:
    """Shares per bin (values ≤ each inner edge, then above the last) and, last, the missing share."""
    edges = np.asarray(profile["edges"], dtype=float)
    finite = np.isfinite(numbers)
    counts = np.bincount(np.searchsorted(edges, numbers[finite], side="left"), minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, float((~finite).sum()))
    return (counts / max(len(numbers), 1)).tolist()


def _categorical_profile(values: pd.Series) -> dict[str, Any]:
    text = values.astype("string")
    shares = text.value_counts(normalize=True, dropna=True)
    kept = sorted(str(c) for c, share in shares.items() if share >= _MIN_CATEGORY_SHARE)
    profile = {"type": "categorical", "categories": kept}
    profile["shares"] = _categorical_shares(profile, values)
    return profile


def _categorical_shares(profile: dict[str, Any], values: pd.Series) -> list[float]:
    """Shares per kept category, then every other category, then missing."""
    text = values.astype("string")
    total = max(len(text), 1)
    missing = int(text.isna().sum())
    counts = text.dropna().value_counts()
    kept = [float(counts.get(c, 0)) for c in profile["categories"]]
    other = float(len(text) - missing - sum(kept))
    return [c / total for c in [*kept, other, float(missing)]]


def _shares(profile: dict[str, Any], values: pd.Series) -> list[float]:
    if profile["type"] == "numeric":
        return _numeric_shares(profile, pd.to_numeric(values, errors="coerce").to_numpy(dtype=float))
    return _categorical_shares(profile, values)


def psi(reference: Sequence[float], current: Sequence[float]) -> float:
    """PSI between two share vectors of the same bins (empty bins floored at 0.0001)."""
    ref = np.maximum(np.asarray(reference, dtype=float), _FLOOR)
    now = np.maximum(np.asarray(current, dtype=float), _FLOOR)
    return float(np.sum((now - ref) * np.log(now / ref)))


def reference_profile(frame: pd.DataFrame, *, numeric: Sequence[str], categorical: Sequence[str] = (),
                      scores: Sequence[float] | None = None, score_column: str | None = None, bins: int = BINS) -> dict[str, Any]:
    """The binned training distribution of each feature (and of the holdout scores), for the meta.

    ``score_column`` names the output column the scores are compared with at scoring (default:
    the meta's ``prediction_column``).
    """
    features = {name: _numeric_profile(frame[name], bins) for name in numeric}
    features |= {name: _categorical_profile(frame[name]) for name in categorical}
    profile: dict[str, Any] = {"rows": len(frame), "features": features}
    if score_column is not None:
        profile["score_column"] = score_column
    if scores is not None:
        profile["score_rows"] = len(scores)
    if scores is not None:
        profile["score"] = _numeric_profile(pd.Series(np.asarray(scores, dtype=float)), bins)
    return profile


def drift(profile: dict[str, Any], frame: pd.DataFrame | None = None, scores: Sequence[float] | None = None) -> dict[str, Any]:
    """PSI of each profiled feature present in ``frame`` and of ``scores``, the largest first.

    Returns:
        ``{"feature_psi": {name: psi}, "psi_max", "drifted": [names above PSI_ALERT],
        "score_psi", "judged"}`` (score_psi None without scores or without a score profile).
        With fewer than :data:`MIN_ROWS` rows on either side the PSIs are reported but
        ``judged`` is False and nothing is named as drifted: ten bins over a few dozen rows move
        by chance.
    """
    found: dict[str, float] = {}
    if frame is not None and len(frame):
        for name, reference in profile.get("features", {}).items():
            if name in frame.columns:
                found[name] = round(psi(reference["shares"], _shares(reference, frame[name])), 6)
    ordered = dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))
    score_psi = None
    if scores is not None and "score" in profile and len(scores):
        score_psi = round(psi(profile["score"]["shares"], _shares(profile["score"], pd.Series(np.asarray(scores, dtype=float)))), 6)
    rows = len(frame) if frame is not None else 0
    judged = rows >= MIN_ROWS and profile.get("rows", 0) >= MIN_ROWS
    score_judged = scores is not None and len(scores) >= MIN_ROWS and profile.get("score_rows", MIN_ROWS) >= MIN_ROWS
    return {
        "feature_psi": ordered,
        "psi_max": max(ordered.values()) if ordered else None,
        "drifted": [name for name, value in ordered.items() if value > PSI_ALERT] if judged else [],
        "score_psi": score_psi,
        "score_drifted": bool(score_judged and score_psi is not None and score_psi > PSI_ALERT),
        "judged": judged,
        "psi_alert": PSI_ALERT,
    }
