"""How much to order: forecast demand over the lead time + safety stock − stock on hand.

Safety stock is ``z(service level) × σ_L``: σ of each forecast day is read off its widest conformal
interval (half-width / z of that level), and days are treated as independent, so
``σ_L = sqrt(Σ σ_t²)`` over the lead time. Unknown or stale on-hand stock gives no order
quantity (NaN, flagged) rather than a guess: ordering a full cover on a missing stock count is
how shelves overflow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from kpredict.forecasting.series import ID, TIME

__all__ = ["replenishment_table"]


def replenishment_table(forecast: pd.DataFrame, on_hand: pd.Series, *, lead_time: int, service_level: float, levels: list[int]) -> pd.DataFrame:
    """One row per series: lead-time demand, safety stock, on hand and the order quantity (whole units)."""
    level = max(levels)
    z_level = norm.ppf(0.5 + level / 200)
    ordered = forecast.sort_values([ID, TIME], kind="stable")
    first = ordered.groupby(ID, sort=True).head(lead_time)
    sigma = (first[f"yhat_hi_{level}"] - first["yhat"]) / z_level
    parts = pd.DataFrame({ID: first[ID].to_numpy(), "demand": first["yhat"].to_numpy(), "var": sigma.to_numpy() ** 2})
    per = parts.groupby(ID, sort=True).agg(lead_time_demand=("demand", "sum"), variance=("var", "sum"), days=("demand", "size"))
    safety = norm.ppf(service_level) * np.sqrt(per["variance"])
    stock = on_hand.reindex(per.index)
    need = per["lead_time_demand"] + safety - stock
    table = pd.DataFrame(
        {
            ID: per.index,
            "lead_time": lead_time,
            "service_level": service_level,
            "lead_time_demand": per["lead_time_demand"].round(3).to_numpy(),
            "safety_stock": safety.round(3).to_numpy(),
            "on_hand": stock.to_numpy(),
            "order_quantity": np.ceil(np.maximum(need, 0).round(6)).to_numpy(),
            "on_hand_known": stock.notna().to_numpy(),
        }
    )
    return table.reset_index(drop=True)
