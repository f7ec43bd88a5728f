"""Probability calibrators stored as plain numbers and arrays (no pickle).

A calibrator maps the booster's raw margin (log-odds) to a probability of the positive class:

- ``none``: the logistic function of the margin (what LightGBM itself would return);
- ``sigmoid``: Platt scaling, ``expit(slope * margin + intercept)``, fitted with scikit-learn's
  ``LogisticRegression`` on the margin. Strictly monotone, so it never changes the ranking;
- ``isotonic``: scikit-learn's ``IsotonicRegression`` on the margin, kept as its thresholds and
  applied with ``np.interp`` (clipped at both ends, exactly like ``out_of_bounds="clip"``). It is
  only non-decreasing: it creates ties, which can lower ROC-AUC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

__all__ = ["CALIBRATION_KINDS", "Calibrator", "fit_calibrator"]

CALIBRATION_KINDS = ("none", "sigmoid", "isotonic")


@dataclass(frozen=True, eq=False)
class Calibrator:
    """A fitted margin → probability map.

    Attributes:
        kind: ``"none"``, ``"sigmoid"`` or ``"isotonic"``.
        slope: Platt slope (``sigmoid`` only).
        intercept: Platt intercept (``sigmoid`` only).
        x: isotonic thresholds on the margin, increasing (``isotonic`` only).
        y: isotonic probabilities at ``x`` (``isotonic`` only).
    """

    kind: str = "none"
    slope: float = 1.0
    intercept: float = 0.0
    x: np.ndarray = field(default_factory=lambda: np.empty(0))
    y: np.ndarray = field(default_factory=lambda: np.empty(0))

    def transform(self, margin: np.ndarray) -> np.ndarray:
        """Probability of the positive class for each raw margin."""
        margin = np.asarray(margin, dtype=np.float64)
        if self.kind == "none":
            return expit(margin)
        if self.kind == "sigmoid":
            return expit(self.slope * margin + self.intercept)
        if self.kind == "isotonic":
            return np.interp(margin, self.x, self.y)
        raise ValueError(f"unknown calibrator kind {self.kind!r}; expected one of {CALIBRATION_KINDS}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; floats survive ``json`` exactly (it writes ``repr``)."""
        return {
            "kind": self.kind,
            "slope": float(self.slope),
            "intercept": float(self.intercept),
            "x": [float(v) for v in self.x],
            "y": [float(v) for v in self.y],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        return cls(
            kind=str(data["kind"]),
            slope=float(data["slope"]),
            intercept=float(data["intercept"]),
            x=np.asarray(data["x"], dtype=np.float64),
            y=np.asarray(data["y"], dtype=np.float64),
        )


def fit_calibrator(kind: str, margin: np.ndarray, y: np.ndarray, *, sample_weight: np.ndarray | None = None) -> Calibrator:
    """Fit a calibrator of ``kind`` on raw margins and 0/1 labels."""
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y)
    if kind == "none":
        return Calibrator("none")
    if kind == "sigmoid":
        from sklearn.linear_model import LogisticRegression

        # C=inf: plain maximum likelihood, no shrinkage of the slope towards 0.
        model = LogisticRegression(C=np.inf, max_iter=1000)
        model.fit(margin.reshape(-1, 1), y, sample_weight=sample_weight)
        return Calibrator("sigmoid", slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))
    if kind == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        model.fit(margin, y, sample_weight=sample_weight)
        return Calibrator(
            "isotonic",
            x=np.asarray(model.X_thresholds_, dtype=np.float64).copy(),
            y=np.asarray(model.y_thresholds_, dtype=np.float64).copy(),
        )
    raise ValueError(f"unknown calibrator kind {kind!r}; expected one of {CALIBRATION_KINDS}")
