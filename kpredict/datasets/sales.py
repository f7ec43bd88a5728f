"""Stores x products daily sales, the holiday list and end-of-day inventory (the stocking decision).

The generative story (the ground truth forecasting tests rely on):

* Every store sells every product. A store opens on ``open_date``; most opened years before the
  span, about one store in seven opens during its first half, and its series start that day. Every
  series then has one row per day up to ``DEMO_END``: no gaps.
* Each product belongs to a category that sets its weekly profile, its yearly seasonality
  (``1 + amplitude * cos(2 pi (day_of_year - peak) / 365.25)``), its holiday sensitivity and its
  price range. Each product has a price elasticity in [-2.5, -0.8] and a promotion uplift.
* Mean demand of series i on day t::

      mu = base_rate(product) * size(store) * series_level * exp(growth * years_since_start)
           * weekly(category, weekday) * yearly(category, day_of_year)
           * (price / regular_price) ** elasticity * (1 + uplift * promo)
           * holiday_effect ** holiday_sensitivity(category)

  ``price`` is the product's list price times the store's price factor times a piecewise-constant
  price level (a few changes a year, chain-wide), minus the promotion discount on promo days.
  Promotions run chain-wide for whole Monday-to-Sunday weeks; each store joins 90 % of them.
  The ``promotions`` table is the promotion calendar: one row per store x product x promotion
  week with its discount, for the span and for the ``PLAN_WEEKS`` weeks after it (planned ahead,
  so forecasts may use it). ``sales.promo`` is true exactly on the calendar's days.
* Demand classes (fixed shares, at least one of each non-smooth class): ``smooth`` products sell
  negative-binomial(mu, shape 8) units; ``intermittent`` (about 12 %) sell on a day with
  probability ``p0 * multipliers`` in small sizes (1 + Poisson(0.2-1.5)); ``lumpy`` (about 8 %)
  sell rarely (p0 in 2-12 %) in large, highly variable sizes (1 + negative binomial, mean 4-20).
  Sales are the demand itself (never censored by stock).
* Inventory: an (s, S) policy reviewed at the end of each day. ``s`` covers mean demand over the
  store's lead time (2-4 days) plus one day with a 1.65 sigma safety stock; ``S = s + one week of
  mean demand``. An order of ``S - position`` arrives at the start of day ``t + lead time``. On-hand
  starts at ``S`` on the series' first day and never goes below zero (a demand larger than stock is
  filled by an emergency transfer, so sales stay uncensored).
* Holidays: ten retail holidays a year (see ``_calendar.HOLIDAY_EFFECTS``) for every year the span
  touches and the year after it, so forecasts have the future holidays too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from kpredict.datasets._calendar import (
    DEMO_END,
    HOLIDAY_EFFECTS,
    as_ns,
    holiday_calendar,
    span_days,
)
from kpredict.datasets._io import format_ids, strings, timestamps
from kpredict.datasets._random import stream
from kpredict.datasets._sizes import DemoSize

__all__ = ["DEMAND_CLASSES", "PLAN_WEEKS", "StoreTakings", "generate_sales"]

logger = logging.getLogger(__name__)

DEMAND_CLASSES = ("smooth", "intermittent", "lumpy")
PLAN_WEEKS = 8  # promotions are planned this many weeks past the end of the data
_DISCOUNTS = (0.1, 0.15, 0.2, 0.25, 0.3)
_JOIN_SHARE = 0.9  # each store joins this share of its chain's promotions
_REGIONS = ("north", "south", "east", "west")
_STORE_TYPES = ("hypermarket", "supermarket", "convenience")
_STORE_TYPE_SIZE = np.array([2.0, 1.0, 0.45])
_LEAD_TIMES = np.array([2, 3, 4])


@dataclass(frozen=True)
class _Category:
    name: str
    base_rate: float  # mean units a day at a supermarket before multipliers
    weekly: tuple[float, ...]  # Monday..Sunday, normalised to mean 1 when used
    yearly_amplitude: float
    yearly_peak_doy: int
    holiday_sensitivity: float
    price_range: tuple[float, float]


_CATEGORIES = (
    _Category("grocery", 22.0, (0.9, 0.9, 0.95, 1.0, 1.15, 1.3, 0.8), 0.06, 355, 1.0, (1.0, 8.0)),
    _Category("beverages", 15.0, (0.9, 0.9, 0.95, 1.0, 1.2, 1.35, 0.7), 0.25, 196, 0.9, (1.0, 4.0)),
    _Category(
        "household", 8.0, (1.0, 0.95, 0.95, 1.0, 1.05, 1.15, 0.9), 0.05, 80, 0.5, (2.0, 15.0)
    ),
    _Category(
        "personal_care", 6.0, (1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 0.85), 0.05, 170, 0.5, (2.0, 12.0)
    ),
    _Category(
        "electronics", 2.0, (0.8, 0.8, 0.85, 0.9, 1.1, 1.5, 1.05), 0.35, 350, 1.2, (20.0, 300.0)
    ),
    _Category("garden", 4.0, (0.85, 0.85, 0.9, 0.95, 1.05, 1.4, 1.0), 0.6, 135, 0.4, (5.0, 60.0)),
)


@dataclass(frozen=True)
class StoreTakings:
    """Daily gross takings per store (sum of units x price), the input of ``store_revenue``.

    Attributes:
        store_ids: Store ids, in row order of ``takings``.
        days: The sales span (``datetime64[D]``), in column order of ``takings``.
        takings: Float array (stores x days); zero before a store opens.
        first_day: Index into ``days`` of each store's first open day.
    """

    store_ids: list[str]
    days: np.ndarray
    takings: np.ndarray
    first_day: np.ndarray


def _demand_classes(n_products: int, rng: np.random.Generator) -> np.ndarray:
    """Codes into DEMAND_CLASSES with fixed shares (about 12 % intermittent, 8 % lumpy)."""
    n_int = max(1, round(0.12 * n_products)) if n_products >= 5 else 0
    n_lumpy = max(1, round(0.08 * n_products)) if n_products >= 5 else 0
    codes = np.zeros(n_products, dtype=np.int64)
    codes[:n_int] = 1
    codes[n_int : n_int + n_lumpy] = 2
    return rng.permutation(codes)


def generate_sales(size: DemoSize, seed: int) -> tuple[dict[str, pa.Table], StoreTakings]:
    """Build the stores, products, holidays, sales and inventory tables.

    Returns:
        The tables by name, and the per-store daily takings that ``store_revenue`` builds on.
    """
    rng = stream(seed, "sales")
    days = span_days(size.sales_years)
    n_days = len(days)
    n_st, n_pr = size.n_stores, size.n_products
    n_series = n_st * n_pr

    # --- stores -----------------------------------------------------------------------------
    store_ids = format_ids("S", 3, n_st)
    region = rng.integers(0, len(_REGIONS), n_st)
    store_type = rng.choice(len(_STORE_TYPES), n_st, p=[0.25, 0.5, 0.25])
    open_offset = -rng.integers(200, 3000, n_st)  # days before the span start
    n_new = n_st // 7
    if n_new:
        new = rng.choice(n_st, n_new, replace=False)
        open_offset[new] = rng.integers(30, int(0.5 * n_days), n_new)
    open_date = days[0] + open_offset.astype("timedelta64[D]")
    first_day = np.maximum(open_offset, 0)
    store_size = _STORE_TYPE_SIZE[store_type] * rng.lognormal(0.0, 0.15, n_st)
    store_price = rng.uniform(0.95, 1.08, n_st)
    lead_time = _LEAD_TIMES[rng.integers(0, len(_LEAD_TIMES), n_st)]

    # --- products ---------------------------------------------------------------------------
    product_ids = format_ids("P", 4, n_pr)
    category = rng.integers(0, len(_CATEGORIES), n_pr)
    lo = np.array([_CATEGORIES[c].price_range[0] for c in category])
    hi = np.array([_CATEGORIES[c].price_range[1] for c in category])
    base_price = np.round(np.exp(rng.uniform(np.log(lo), np.log(hi))), 2)
    demand_class = _demand_classes(n_pr, rng)
    elasticity = rng.uniform(-2.5, -0.8, n_pr)
    uplift = rng.uniform(0.15, 0.6, n_pr)
    base_rate = np.array([_CATEGORIES[c].base_rate for c in category]) * rng.lognormal(0, 0.5, n_pr)
    # Intermittent and lumpy products: occurrence probability and size parameters.
    p0 = np.where(demand_class == 1, rng.uniform(0.05, 0.25, n_pr), rng.uniform(0.02, 0.12, n_pr))
    small_size = rng.uniform(0.2, 1.5, n_pr)
    lumpy_mean = rng.uniform(4.0, 20.0, n_pr)

    # --- calendar effects (products x days) -------------------------------------------------
    weekday = (days.astype("datetime64[D]").view("int64") - 4) % 7  # 1970-01-01 was a Thursday
    years = np.arange(n_days) / 365.25
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64) + 1
    weekly = np.array([np.array(c.weekly) / np.mean(c.weekly) for c in _CATEGORIES])
    amp = np.array([c.yearly_amplitude for c in _CATEGORIES])
    peak = np.array([c.yearly_peak_doy for c in _CATEGORIES])
    yearly = 1 + amp[:, None] * np.cos(2 * np.pi * (day_of_year[None, :] - peak[:, None]) / 365.25)

    first_year = int(str(days[0])[:4])
    calendar = holiday_calendar(first_year, DEMO_END.year + 1)
    hol_dates = np.array([d for d, _ in calendar], dtype="datetime64[D]")
    hol_names = [name for _, name in calendar]
    log_effect = np.zeros(n_days)
    in_span = (hol_dates >= days[0]) & (hol_dates <= days[-1])
    log_effect[(hol_dates[in_span] - days[0]).astype(np.int64)] = np.log(
        [HOLIDAY_EFFECTS[n] for n, keep in zip(hol_names, in_span, strict=True) if keep]
    )
    is_holiday = log_effect != 0
    sensitivity = np.array([c.holiday_sensitivity for c in _CATEGORIES])
    holiday_mult = np.exp(sensitivity[:, None] * log_effect[None, :])  # categories x days

    # Chain-wide price level: a few small steps a year (mostly increases).
    steps = np.where(
        rng.random((n_pr, n_days)) < 2.0 / 365.0, rng.normal(0.02, 0.04, (n_pr, n_days)), 0.0
    )
    steps[:, 0] = 0.0
    price_level = np.exp(np.cumsum(steps, axis=1))

    # Promotions: whole weeks, chain-wide per product, each store joins 90 % of them.
    week = (np.arange(n_days) + weekday[0]) // 7
    n_weeks = int(week[-1]) + 1
    draws = rng.random((n_pr, n_weeks))  # drawn before the rates: the order fixes the tables
    promo_rate = rng.uniform(0.05, 0.15, n_pr)
    promo_week = draws < promo_rate[:, None]
    discount_week = rng.choice(_DISCOUNTS, (n_pr, n_weeks))
    joins = rng.random((n_st, n_pr, n_weeks)) < _JOIN_SHARE
    promo = (promo_week[None, :, :] & joins)[:, :, week]  # stores x products x days
    discount = discount_week[:, week]

    # --- demand (stores x products x days) --------------------------------------------------
    regular = base_price[None, :, None] * store_price[:, None, None] * price_level[None, :, :]
    price = np.round(regular * np.where(promo, 1 - discount[None, :, :], 1.0), 2)
    level = store_size[:, None] * rng.lognormal(0.0, 0.2, (n_st, n_pr))
    growth = rng.normal(0.0, 0.15, (n_st, n_pr))
    mult = (
        level[:, :, None]
        * np.exp(growth[:, :, None] * years[None, None, :])
        * weekly[category][:, weekday][None, :, :]
        * yearly[category][None, :, :]
        * holiday_mult[category][None, :, :]
        * (price / regular) ** elasticity[None, :, None]
        * (1 + uplift[None, :, None] * promo)
    )
    units = np.empty_like(mult)
    smooth = demand_class == 0
    mu = base_rate[None, smooth, None] * mult[:, smooth, :]
    units[:, smooth, :] = rng.poisson(rng.gamma(8.0, mu / 8.0))
    inter = demand_class == 1
    occurs = rng.random(mult[:, inter, :].shape) < np.minimum(
        p0[inter][None, :, None] * mult[:, inter, :], 0.95
    )
    units[:, inter, :] = occurs * (
        1 + rng.poisson(np.broadcast_to(small_size[inter][None, :, None], occurs.shape))
    )
    lumpy = demand_class == 2
    occurs = rng.random(mult[:, lumpy, :].shape) < np.minimum(
        p0[lumpy][None, :, None] * mult[:, lumpy, :], 0.95
    )
    shape = 0.7
    lumpy_size = 1 + rng.negative_binomial(
        shape, shape / (shape + lumpy_mean[lumpy][None, :, None] - 1), occurs.shape
    )
    units[:, lumpy, :] = occurs * lumpy_size
    active = np.arange(n_days)[None, :] >= first_day[:, None]  # stores x days
    units *= active[:, None, :]

    # --- inventory: (s, S) policy, loop over days, vectorised over series --------------------
    flat_units = units.reshape(n_series, n_days)
    flat_active = np.repeat(active, n_pr, axis=0)
    n_active = flat_active.sum(axis=1)
    mean = flat_units.sum(axis=1) / n_active
    std = np.sqrt(np.maximum((flat_units**2).sum(axis=1) / n_active - mean**2, 0.0))
    lead = np.repeat(lead_time, n_pr)
    s_low = np.ceil(mean * (lead + 1) + 1.65 * std * np.sqrt(lead + 1))
    s_high = s_low + np.ceil(7 * mean) + 1
    on_hand_all = np.empty_like(flat_units)
    ring = np.zeros((int(lead.max()) + 1, n_series))
    on_hand = s_high.copy()
    on_order = np.zeros(n_series)
    cols = np.arange(n_series)
    for t in range(n_days):
        slot = t % len(ring)
        arriving = ring[slot].copy()
        ring[slot] = 0.0
        live = flat_active[:, t]
        on_hand = np.where(live, np.maximum(on_hand + arriving - flat_units[:, t], 0.0), on_hand)
        on_order -= arriving
        qty = np.where(live & (on_hand + on_order <= s_low), s_high - on_hand - on_order, 0.0)
        ring[(t + lead) % len(ring), cols] += qty
        on_order += qty
        on_hand_all[:, t] = on_hand

    # --- tables -----------------------------------------------------------------------------
    mask = flat_active.ravel()
    series_store = np.repeat(np.arange(n_st), n_pr)
    series_product = np.tile(np.arange(n_pr), n_st)
    rows_per_series = n_active
    row_store = np.repeat(series_store, rows_per_series)
    row_product = np.repeat(series_product, rows_per_series)
    row_day = np.broadcast_to(np.arange(n_days), (n_series, n_days)).ravel()[mask]
    dates = timestamps(as_ns(days[row_day]))
    keys = {
        "store_id": strings(row_store, store_ids),
        "product_id": strings(row_product, product_ids),
        "date": dates,
    }
    sales = pa.table(
        {
            **keys,
            "units": pa.array(flat_units.ravel()[mask].astype(np.float64)),
            "price": pa.array(price.reshape(n_series, n_days).ravel()[mask]),
            "promo": pa.array(promo.reshape(n_series, n_days).ravel()[mask]),
            "holiday": pa.array(is_holiday[row_day]),
        }
    )
    inventory = pa.table({**keys, "on_hand": pa.array(on_hand_all.ravel()[mask])})
    stores = pa.table(
        {
            "store_id": pa.array(store_ids, type=pa.string()),
            "region": strings(region, _REGIONS),
            "store_type": strings(store_type, _STORE_TYPES),
            "open_date": timestamps(as_ns(open_date)),
        }
    )
    products = pa.table(
        {
            "product_id": pa.array(product_ids, type=pa.string()),
            "category": strings(category, [c.name for c in _CATEGORIES]),
            "base_price": pa.array(base_price),
            "demand_class": strings(demand_class, DEMAND_CLASSES),
        }
    )
    holidays = pa.table(
        {
            "date": timestamps(as_ns(hol_dates)),
            "holiday": pa.array(hol_names, type=pa.string()),
        }
    )
    promotions = _promotion_calendar(
        promo_week,
        discount_week,
        joins,
        days[0] - np.timedelta64(int(weekday[0]), "D"),
        first_day_week=(first_day + weekday[0]) // 7,
        plan=_planned_promotions(promo_rate, n_st, stream(seed, "sales.promotion_plan")),
        store_ids=store_ids,
        product_ids=product_ids,
    )
    takings = (units * price).sum(axis=1)
    logger.debug("sales: %d series, %d rows", n_series, sales.num_rows)
    tables = {
        "stores": stores,
        "products": products,
        "holidays": holidays,
        "promotions": promotions,
        "sales": sales,
        "inventory": inventory,
    }
    return tables, StoreTakings(store_ids, days, takings, first_day)


def _planned_promotions(
    promo_rate: np.ndarray, n_stores: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The promotions already planned for the ``PLAN_WEEKS`` weeks after the data ends.

    Drawn like the span's (own random stream, so the span's tables do not change).
    """
    n_products = len(promo_rate)
    planned = rng.random((n_products, PLAN_WEEKS)) < promo_rate[:, None]
    discount = rng.choice(_DISCOUNTS, (n_products, PLAN_WEEKS))
    joins = rng.random((n_stores, n_products, PLAN_WEEKS)) < _JOIN_SHARE
    return planned, discount, joins


def _promotion_calendar(
    promo_week: np.ndarray,
    discount_week: np.ndarray,
    joins: np.ndarray,
    first_monday: np.datetime64,
    *,
    first_day_week: np.ndarray,
    plan: tuple[np.ndarray, np.ndarray, np.ndarray],
    store_ids: list[str],
    product_ids: list[str],
) -> pa.Table:
    """One row per store x product x promotion week (Monday to Sunday), past and planned.

    Stores are listed only from the week they open; the calendar runs ``PLAN_WEEKS`` weeks past
    the data, which is what makes promotions a known-future covariate.
    """
    planned, planned_discount, planned_joins = plan
    weekly = np.concatenate([promo_week, planned], axis=1)  # products x weeks
    discount = np.concatenate([discount_week, planned_discount], axis=1)
    joined = np.concatenate([joins, planned_joins], axis=2)  # stores x products x weeks
    n_weeks = weekly.shape[1]
    opened = np.arange(n_weeks)[None, :] >= first_day_week[:, None]  # stores x weeks
    running = weekly[None, :, :] & joined & opened[:, None, :]
    store, product, week = np.nonzero(running)
    start = first_monday + (week * 7).astype("timedelta64[D]")
    return pa.table(
        {
            "store_id": strings(store, store_ids),
            "product_id": strings(product, product_ids),
            "start_date": timestamps(as_ns(start)),
            "end_date": timestamps(as_ns(start + np.timedelta64(6, "D"))),
            "discount": pa.array(discount[product, week]),
        }
    )
