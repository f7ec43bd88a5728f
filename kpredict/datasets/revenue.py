"""Daily revenue per store with injected level shifts and spikes (the KPI-anomaly part of the
investigation decision).

The generative story:

* Normal revenue of store s on day d = the store's gross takings from ``sales`` (sum of units x
  price) times a multiplicative noise ``exp(N(0, 0.04))``, rounded to cents. It only exists from the
  store's first open day.
* ``level_shift``: every store gets one window of 14-45 consecutive days (starting at least 30 days
  after opening) in which revenue is multiplied by a factor in [0.5, 0.7] (a till or road outage)
  or [1.3, 1.5] (a nearby competitor closed). Every day in the window is marked.
* ``spike``: outside that window, each day is a spike with probability 0.4 %: revenue times a
  factor in [2.5, 4] (a bulk order) or [0.1, 0.3] (a one-day closure). The day is marked.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from kpredict.datasets._calendar import as_ns
from kpredict.datasets._io import strings, timestamps
from kpredict.datasets._random import stream
from kpredict.datasets.sales import StoreTakings

__all__ = ["REVENUE_ANOMALY_KINDS", "generate_store_revenue"]

REVENUE_ANOMALY_KINDS = ("", "level_shift", "spike")
_SPIKE_RATE = 0.004


def generate_store_revenue(takings: StoreTakings, seed: int) -> dict[str, pa.Table]:
    """Build ``store_revenue`` and ``truth/store_revenue`` from the stores' daily takings."""
    rng = stream(seed, "store_revenue")
    n_st, n_days = takings.takings.shape
    day = np.arange(n_days)
    revenue = takings.takings * np.exp(rng.normal(0.0, 0.04, (n_st, n_days)))
    kind = np.zeros((n_st, n_days), dtype=np.int64)

    length = rng.integers(14, 46, n_st)
    start = takings.first_day + 30 + (rng.random(n_st) * (n_days - takings.first_day - 30 - length))
    start = start.astype(np.int64)
    up = rng.random(n_st) < 0.5
    factor = np.where(up, rng.uniform(1.3, 1.5, n_st), rng.uniform(0.5, 0.7, n_st))
    in_shift = (day[None, :] >= start[:, None]) & (day[None, :] < (start + length)[:, None])
    revenue = np.where(in_shift, revenue * factor[:, None], revenue)
    kind[in_shift] = 1

    open_ = day[None, :] >= takings.first_day[:, None]
    spike = (rng.random((n_st, n_days)) < _SPIKE_RATE) & ~in_shift & open_
    spike_up = rng.random((n_st, n_days)) < 0.6
    spike_factor = np.where(
        spike_up, rng.uniform(2.5, 4.0, (n_st, n_days)), rng.uniform(0.1, 0.3, (n_st, n_days))
    )
    revenue = np.where(spike, revenue * spike_factor, revenue)
    kind[spike] = 2

    mask = open_.ravel()
    row_store = np.repeat(np.arange(n_st), open_.sum(axis=1))
    row_day = np.broadcast_to(day, (n_st, n_days)).ravel()[mask]
    keys = {
        "store_id": strings(row_store, takings.store_ids),
        "date": timestamps(as_ns(takings.days[row_day])),
    }
    flat_kind = kind.ravel()[mask]
    return {
        "store_revenue": pa.table(
            {**keys, "revenue": pa.array(np.round(revenue.ravel()[mask], 2))}
        ),
        "truth/store_revenue": pa.table(
            {
                **keys,
                "is_anomaly": pa.array(flat_kind > 0),
                "anomaly_kind": strings(flat_kind, REVENUE_ANOMALY_KINDS),
            }
        ),
    }
