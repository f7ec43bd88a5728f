"""Churn labels: customers active at each snapshot date, and whether they left within the horizon.

A snapshot is taken at the start of its day (00:00): a customer is active when the subscription
started on an earlier day and has not ended before that day; ``end_date`` is the day the customer
leaves, so leaving within ``horizon_days`` means ``snapshot <= end_date < snapshot + horizon``.
Only snapshots whose whole horizon lies inside the data are labelled (an unfinished horizon would
count leavers as stayers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpredict.errors import SchemaError

__all__ = ["active_customers", "build_labels", "snapshot_dates"]

ENTITY_TS = "event_timestamp"


def snapshot_dates(start: pd.Timestamp, end: pd.Timestamp, *, frequency: str, min_history_days: int, horizon_days: int) -> pd.DatetimeIndex:
    """Snapshot dates from ``start + min_history`` to the last date whose horizon ends by ``end``."""
    first = start.normalize() + pd.Timedelta(days=min_history_days)
    last = end.normalize() - pd.Timedelta(days=horizon_days)
    return pd.date_range(first, last, freq=frequency) if last >= first else pd.DatetimeIndex([])


def active_customers(subscriptions: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Customers whose subscription started before ``as_of`` and has not ended before it (sorted ids)."""
    _require(subscriptions, ["customer_id", "start_date", "end_date"], "subscriptions")
    active = (subscriptions["start_date"] < as_of) & (subscriptions["end_date"].isna() | (subscriptions["end_date"] >= as_of))
    ids = subscriptions.loc[active, "customer_id"].drop_duplicates().sort_values(kind="mergesort")
    return pd.DataFrame({"customer_id": ids.to_numpy()})


def build_labels(
    subscriptions: pd.DataFrame,
    orders: pd.DataFrame | None,
    snapshots: pd.DatetimeIndex,
    *,
    horizon_days: int,
    definition: str = "contractual",
) -> pd.DataFrame:
    """One row per (customer active at snapshot, snapshot): ``customer_id, event_timestamp, churned``.

    contractual: the subscription ends within ``[snapshot, snapshot + horizon)``.
    non_contractual: the customer placed no order within that window.
    """
    horizon = pd.Timedelta(days=horizon_days)
    frames = []
    for snapshot in snapshots:
        active = active_customers(subscriptions, snapshot)
        if active.empty:
            continue
        if definition == "contractual":
            ends = subscriptions.groupby("customer_id")["end_date"].max()
            end = active["customer_id"].map(ends)
            churned = end.notna() & (end >= snapshot) & (end < snapshot + horizon)
        else:
            if orders is None:
                raise SchemaError("non_contractual churn labels need the orders source")
            _require(orders, ["customer_id", "order_ts"], "orders")
            window = orders[(orders["order_ts"] >= snapshot) & (orders["order_ts"] < snapshot + horizon)]
            churned = ~active["customer_id"].isin(window["customer_id"].unique())
        frames.append(pd.DataFrame({"customer_id": active["customer_id"].to_numpy(), ENTITY_TS: snapshot, "churned": churned.to_numpy(dtype=np.int8)}))
    if not frames:
        return pd.DataFrame({"customer_id": pd.Series([], dtype=object), ENTITY_TS: pd.Series([], dtype="datetime64[ns]"), "churned": pd.Series([], dtype=np.int8)})
    labels = pd.concat(frames, ignore_index=True)
    labels[ENTITY_TS] = labels[ENTITY_TS].astype("datetime64[ns]")
    return labels


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"the {name} table is missing columns {missing}; got {list(frame.columns)}")
