"""Surprise of a value against a reference distribution: ``-log10`` of the share of reference
values at least as large, with an exponential tail beyond the largest one.

Shared by the event scorer (kpredict.modeling.anomaly) and the KPI detector (kpredict.modeling.kpi),
so a surprise of 3 means "one reference value in 1,000 goes that far" in both.
"""

from __future__ import annotations

import numpy as np

__all__ = ["reference_quantiles", "tail_surprise"]

#: share of the reference kept as the top tail whose spread sets the extrapolation beyond it
TAIL_SHARE = 0.01


def reference_quantiles(values: np.ndarray, n_quantiles: int, axis: int = 0) -> np.ndarray:
    """The ``n_quantiles + 1`` evenly spaced quantiles that :func:`tail_surprise` reads."""
    return np.quantile(values, np.linspace(0.0, 1.0, n_quantiles + 1), axis=axis)


def tail_surprise(values: np.ndarray, quantiles: np.ndarray, n_rows: int) -> np.ndarray:
    """``-log10`` of the share of reference rows at least as large as each value.

    Inside the reference the share is read off its quantiles (ties with a common value count as
    typical); beyond its maximum it decays exponentially with the spread of its top 1 %.
    """
    values = np.asarray(values, dtype=np.float64)
    position = np.searchsorted(quantiles, values, side="left") / len(quantiles)
    surprise = -np.log10(np.maximum(1.0 - position, 1.0 / len(quantiles)))
    top = quantiles[-1]
    spread = max(top - quantiles[-1 - max(1, int(len(quantiles) * TAIL_SHARE))], 1e-9)
    beyond = values > top
    if beyond.any():
        # in log space, so values far beyond the reference keep their order instead of underflowing
        surprise[beyond] = (values[beyond] - top) / spread / np.log(10.0) + np.log10(max(n_rows, len(quantiles)))
    return surprise
