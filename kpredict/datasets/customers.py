"""Customers, subscriptions, orders and support tickets with a known churn hazard (the retention
decision).

The generative story (the ground truth churn tests rely on). Days are indexed t = 0 .. D-1 over
the customer span; a customer signs up on day ``s`` (about 40 % signed up in the three years before
the span, the rest uniformly during it) and has static covariates: region, segment, acquisition
channel, plan (basic / standard / premium) with a monthly fee, and contract (monthly / annual).

Each customer carries a latent engagement state z_t in {engaged, cooling, at_risk}: drawn at
signup from a channel-specific distribution (``INITIAL_ENGAGED``; customers signed up before the
span start it from ``ESTABLISHED_STATE``), then moved at the end of each day by the sticky
transition matrix ``TRANSITION`` (engaged customers only cool down, never jump straight to
at_risk; at_risk customers rarely recover). ``BASE_HAZARD`` is 0.0001 / 0.002 / 0.025 a day for
engaged / cooling / at_risk. On each day t > s of an active customer, in this order:

1. The customer churns with probability ``daily_hazard(z_t, covariates, tenure = t - s)`` where
   ``hazard = 1 - exp(-lambda)`` and ``lambda = BASE_HAZARD[z] * (fee / 39) ** 0.5 *
   (1 + 1.5 exp(-tenure / 60)) * contract``; ``contract`` is 1 for monthly contracts and 0.3 for
   annual ones, times 4 in the last 30 days of each contract year (renewal). A churned customer's
   subscription ``end_date`` is day t; there are no orders or tickets on or after it.
2. Otherwise the customer places Poisson(``ORDER_RATE[z]`` x segment factor) orders and opens
   Poisson(``TICKET_RATE[z]``) support tickets that day. Cooling and at-risk customers order less,
   spend less per order, open more tickets, more severe ones, more cancellation requests, and rate
   support worse. (The signup day itself has no churn draw but does emit events.)
3. z moves to z_{t+1} ~ TRANSITION[z_t].

Truth: on the first day t0 of each month from the span's fourth month on, for every customer who
signed up before t0 and has not churned before t0, ``true_churn_probability`` is the exact
probability of churning on one of the days t0 .. t0+29 given z_{t0} and the covariates::

    v_29 = s_29,   v_j = s_j * (TRANSITION @ v_{j+1}),   P(churn) = 1 - v_0[z_{t0}]

with ``s_j[k] = 1 - daily_hazard(k, covariates, tenure at t0 + j)``.
``observable_churn_probability`` is the same sum weighted by what the data can tell about z_{t0}:
the exact forward filter (Bayes' rule day by day with these parameters) over the customer's daily
order and ticket counts and survival before t0, starting from the signup distribution. No model
of the data can know z better, short of also modelling the ticket details and order amounts:
its ROC-AUC is a realistic ceiling (about 0.93 of the true probabilities'), the true
probabilities' is not. ``churned_within_horizon`` is
what happened in the simulation; it is False with ``horizon_complete`` False when t0 + 29 is past
``DEMO_END`` (the outcome is not observed). With these parameters about 5 % of the active
customers churn within 30 days, and the true probability reaches a ROC-AUC of about 0.87-0.89.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from kpredict.datasets._calendar import DEMO_END, as_ns, span_days
from kpredict.datasets._io import format_ids, strings, timestamps
from kpredict.datasets._random import stream
from kpredict.datasets._sizes import DemoSize

__all__ = [
    "BASE_HAZARD",
    "HORIZON_DAYS",
    "STATES",
    "TRANSITION",
    "churn_probability",
    "churn_probability_by_state",
    "daily_hazard",
    "generate_customers",
]

logger = logging.getLogger(__name__)

HORIZON_DAYS = 30
STATES = ("engaged", "cooling", "at_risk")
TRANSITION = np.array(
    [
        # engaged customers only cool down; at-risk customers rarely recover (sticky states)
        [0.994, 0.006, 0.000],
        [0.015, 0.975, 0.010],
        [0.005, 0.015, 0.980],
    ]
)
BASE_HAZARD = np.array([0.0001, 0.002, 0.025])
STATES_INDEX = np.arange(len(STATES))[None, :]  # broadcasts a per-state column
_FEE_REFERENCE = 39.0
_ANNUAL_FACTOR = 0.3
_RENEWAL_FACTOR = 4.0

_REGIONS = ("north", "south", "east", "west", "central")
_SEGMENTS = ("consumer", "small_business", "enterprise")
_SEGMENT_P = [0.7, 0.25, 0.05]
_SEGMENT_ORDERS = np.array([1.0, 1.6, 3.0])
_SEGMENT_AMOUNT = np.array([1.0, 2.0, 5.0])
_ANNUAL_P = np.array([0.25, 0.4, 0.7])
_PLAN_P = np.array([[0.5, 0.35, 0.15], [0.3, 0.45, 0.25], [0.1, 0.4, 0.5]])
_CHANNELS = ("organic", "paid_search", "social", "referral", "partner")
_CHANNEL_P = [0.3, 0.25, 0.2, 0.15, 0.1]
_PLANS = ("basic", "standard", "premium")
_PLAN_FEE = np.array([19.0, 39.0, 79.0])
_PLAN_AMOUNT = np.array([0.8, 1.0, 1.4])
_CONTRACTS = ("monthly", "annual")
INITIAL_ENGAGED = np.array([0.8, 0.7, 0.6, 0.9, 0.85])
ESTABLISHED_STATE = np.array([0.8, 0.15, 0.05])

ORDER_RATE = np.array([0.15, 0.05, 0.01])
_ORDER_AMOUNT_FACTOR = np.array([1.0, 0.85, 0.7])
TICKET_RATE = np.array([0.004, 0.015, 0.08])
_TICKET_CATEGORIES = ("billing", "technical", "delivery", "account", "cancellation")
_TICKET_CATEGORY_P = np.array(
    [[0.3, 0.35, 0.2, 0.14, 0.01], [0.3, 0.3, 0.2, 0.12, 0.08], [0.2, 0.2, 0.1, 0.1, 0.4]]
)
_SEVERITY_P = np.array([[0.6, 0.3, 0.1], [0.45, 0.4, 0.15], [0.3, 0.4, 0.3]])
_SATISFACTION_MEAN = np.array([4.3, 3.5, 2.3])
_ANSWER_P = np.array([0.6, 0.55, 0.5])
_RESOLUTION_HOURS = np.array([30.0, 14.0, 5.0])  # median by severity 1 (low) .. 3 (high)
_RESOLUTION_STATE = np.array([1.0, 1.2, 1.6])


def daily_hazard(
    state: np.ndarray, fee: np.ndarray, annual: np.ndarray, tenure: np.ndarray
) -> np.ndarray:
    """Probability of churning on one day, given the latent state at that day (broadcasts).

    Args:
        state: Latent state codes into ``STATES``.
        fee: Monthly fee.
        annual: True for annual contracts.
        tenure: Days since signup (>= 1 whenever churn is possible).
    """
    contract = np.where(
        annual, _ANNUAL_FACTOR * np.where(tenure % 365 >= 335, _RENEWAL_FACTOR, 1.0), 1.0
    )
    rate = (
        BASE_HAZARD[state]
        * np.sqrt(fee / _FEE_REFERENCE)
        * (1.0 + 1.5 * np.exp(-tenure / 60.0))
        * contract
    )
    return -np.expm1(-rate)


def churn_probability_by_state(fee: np.ndarray, annual: np.ndarray, tenure: np.ndarray) -> np.ndarray:
    """Exact P(churn within ``HORIZON_DAYS`` days from today | today's state), one column per state."""
    fee, annual, tenure = fee[:, None], annual[:, None], tenure[:, None]
    survive = np.ones((len(fee), len(STATES)))
    for j in range(HORIZON_DAYS - 1, -1, -1):
        today = 1.0 - daily_hazard(STATES_INDEX, fee, annual, tenure + j)
        survive = today * (survive @ TRANSITION.T) if j < HORIZON_DAYS - 1 else today
    return np.clip(1.0 - survive, 0.0, 1.0)


def churn_probability(
    state: np.ndarray, fee: np.ndarray, annual: np.ndarray, tenure: np.ndarray
) -> np.ndarray:
    """Exact P(churn within ``HORIZON_DAYS`` days from today | today's state), vectorised."""
    return churn_probability_by_state(fee, annual, tenure)[np.arange(len(state)), state]


def _observe(
    belief: np.ndarray, orders: np.ndarray, tickets: np.ndarray, order_factor: np.ndarray, hazard: np.ndarray
) -> np.ndarray:
    """One day of the forward filter: condition on surviving and on the day's counts, then move.

    ``hazard`` is each state's churn probability that day (0 where churn was not possible).
    """
    order_rate = ORDER_RATE[None, :] * order_factor[:, None]
    log_like = (
        orders[:, None] * np.log(order_rate) - order_rate
        + tickets[:, None] * np.log(TICKET_RATE)[None, :] - TICKET_RATE[None, :]
        + np.log1p(-hazard)
    )
    posterior = belief * np.exp(log_like - log_like.max(axis=1, keepdims=True))
    posterior /= posterior.sum(axis=1, keepdims=True)
    return posterior @ TRANSITION


def _next_state(state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cumulative = np.cumsum(TRANSITION, axis=1)[state]
    return (rng.random(len(state))[:, None] >= cumulative[:, :-1]).sum(axis=1).astype(np.int8)


def generate_customers(size: DemoSize, seed: int) -> dict[str, pa.Table]:
    """Simulate the customer base day by day and build its tables and the churn truth."""
    rng = stream(seed, "customers")
    days = span_days(size.customer_years)
    n_days = len(days)
    n = size.n_customers

    # --- static covariates, customers numbered in signup order ------------------------------
    n_before = int(0.4 * n)
    signup = np.sort(
        np.concatenate([-rng.integers(1, 3 * 365, n_before), rng.integers(0, n_days, n - n_before)])
    )
    region = rng.integers(0, len(_REGIONS), n)
    segment = rng.choice(len(_SEGMENTS), n, p=_SEGMENT_P)
    channel = rng.choice(len(_CHANNELS), n, p=_CHANNEL_P)
    annual = rng.random(n) < _ANNUAL_P[segment]
    plan = (rng.random(n)[:, None] >= np.cumsum(_PLAN_P[segment], axis=1)[:, :-1]).sum(axis=1)
    discount = rng.choice([0.0, 0.1, 0.2], n, p=[0.7, 0.2, 0.1])
    fee = np.round(_PLAN_FEE[plan] * np.where(annual, 0.85, 1.0) * (1 - discount), 2)

    engaged = INITIAL_ENGAGED[channel]
    initial_p = np.stack([engaged, (1 - engaged) * 2 / 3, (1 - engaged) / 3], axis=1)
    initial_p[signup < 0] = ESTABLISHED_STATE
    initial = (rng.random(n)[:, None] >= np.cumsum(initial_p, axis=1)[:, :-1]).sum(axis=1)

    # --- daily simulation --------------------------------------------------------------------
    month_starts = np.arange(
        days[0].astype("datetime64[M]") + 3, days[-1].astype("datetime64[M]") + 1
    ).astype("datetime64[D]")
    snapshot_days = set((month_starts - days[0]).astype(np.int64).tolist())
    state = np.where(signup < 0, initial, -1).astype(np.int8)  # -1: not signed up yet
    # What the data can tell about z: the exact Bayes filter over the order and ticket counts
    # and survival each customer shows (see ``_observe``), P(z_t | events before day t).
    belief = initial_p.copy()
    churn_day = np.full(n, -1, dtype=np.int64)
    alive = signup < 0
    first_new = int(np.searchsorted(signup, 0))
    order_parts: list[tuple[np.ndarray, int, np.ndarray]] = []
    ticket_parts: list[tuple[np.ndarray, int, np.ndarray]] = []
    snap_parts: list[tuple[int, np.ndarray, np.ndarray]] = []
    for t in range(n_days):
        joining_end = int(np.searchsorted(signup, t, side="right"))
        if joining_end > first_new:
            state[first_new:joining_end] = initial[first_new:joining_end]
            alive[first_new:joining_end] = True
            first_new = joining_end
        idx = np.flatnonzero(alive)
        z = state[idx]
        tenure = t - signup[idx]
        can_churn = tenure > 0
        if t in snapshot_days:
            snap_parts.append((t, idx[can_churn], z[can_churn], belief[idx[can_churn]]))
        # every state's hazard today: the draw uses the true state's, the filter all three
        hazard = daily_hazard(STATES_INDEX, fee[idx, None], annual[idx, None], tenure[:, None])
        churns = can_churn & (rng.random(len(idx)) < hazard[np.arange(len(idx)), z])
        churn_day[idx[churns]] = t
        alive[idx[churns]] = False
        idx, z = idx[~churns], z[~churns]
        orders = rng.poisson(ORDER_RATE[z] * _SEGMENT_ORDERS[segment[idx]])
        tickets = rng.poisson(TICKET_RATE[z])
        belief[idx] = _observe(
            belief[idx], orders, tickets, _SEGMENT_ORDERS[segment[idx]],
            np.where(can_churn[~churns, None], hazard[~churns], 0.0),
        )
        if orders.any():
            has = orders > 0
            order_parts.append(
                (np.repeat(idx[has], orders[has]), t, np.repeat(z[has], orders[has]))
            )
        if tickets.any():
            has = tickets > 0
            ticket_parts.append(
                (np.repeat(idx[has], tickets[has]), t, np.repeat(z[has], tickets[has]))
            )
        state[idx] = _next_state(z, rng)

    events = stream(seed, "customers.events")
    customer_ids = format_ids("C", 6, n)
    signup_date = days[0] + signup.astype("timedelta64[D]")
    end_date = np.where(churn_day >= 0, days[np.maximum(churn_day, 0)], np.datetime64("NaT", "D"))
    tables = {
        "customers": pa.table(
            {
                "customer_id": pa.array(customer_ids, type=pa.string()),
                "signup_date": timestamps(as_ns(signup_date)),
                "region": strings(region, _REGIONS),
                "segment": strings(segment, _SEGMENTS),
                "acquisition_channel": strings(channel, _CHANNELS),
            }
        ),
        "subscriptions": pa.table(
            {
                "subscription_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
                "customer_id": pa.array(customer_ids, type=pa.string()),
                "plan": strings(plan, _PLANS),
                "contract": strings(annual.astype(np.int64), _CONTRACTS),
                "monthly_fee": pa.array(fee),
                "start_date": timestamps(as_ns(signup_date)),
                "end_date": timestamps(as_ns(end_date)),
            }
        ),
        "orders": _orders(order_parts, days, customer_ids, segment, plan, events),
        "tickets": _tickets(ticket_parts, days, customer_ids, events),
        "truth/churn": _churn_truth(snap_parts, days, customer_ids, signup, fee, annual, churn_day),
    }
    logger.debug("customers: %d customers, %d orders", n, tables["orders"].num_rows)
    return tables


def _concat(parts: list[tuple[np.ndarray, int, np.ndarray]]) -> tuple[np.ndarray, ...]:
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int8)
    who = np.concatenate([p[0] for p in parts])
    day = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    state = np.concatenate([p[2] for p in parts])
    return who, day, state


def _orders(
    parts: list[tuple[np.ndarray, int, np.ndarray]],
    days: np.ndarray,
    customer_ids: list[str],
    segment: np.ndarray,
    plan: np.ndarray,
    rng: np.random.Generator,
) -> pa.Table:
    who, day, state = _concat(parts)
    seconds = rng.integers(7 * 3600, 23 * 3600, len(who))
    ts = as_ns(days[day]) + (seconds * 1_000_000_000).astype("timedelta64[ns]")
    level = 35.0 * _SEGMENT_AMOUNT[segment] * _PLAN_AMOUNT[plan]
    customer_level = level * rng.lognormal(0.0, 0.3, len(customer_ids))
    amount = np.round(
        customer_level[who] * _ORDER_AMOUNT_FACTOR[state] * rng.lognormal(-0.125, 0.5, len(who)), 2
    )
    amount = np.maximum(amount, 1.0)
    n_items = 1 + rng.poisson(amount / 30.0)
    discount = rng.choice([0.0, 0.05, 0.1, 0.15, 0.2], len(who), p=[0.7, 0.1, 0.1, 0.05, 0.05])
    order = np.lexsort((who, ts))
    return pa.table(
        {
            "order_id": pa.array(np.arange(1, len(who) + 1, dtype=np.int64)),
            "customer_id": strings(who[order], customer_ids),
            "order_ts": timestamps(ts[order]),
            "amount": pa.array(amount[order]),
            "n_items": pa.array(n_items[order].astype(np.int64)),
            "discount": pa.array(discount[order]),
        }
    )


def _tickets(
    parts: list[tuple[np.ndarray, int, np.ndarray]],
    days: np.ndarray,
    customer_ids: list[str],
    rng: np.random.Generator,
) -> pa.Table:
    who, day, state = _concat(parts)
    m = len(who)
    seconds = rng.integers(6 * 3600, 22 * 3600, m)
    created = as_ns(days[day]) + (seconds * 1_000_000_000).astype("timedelta64[ns]")
    category = (rng.random(m)[:, None] >= np.cumsum(_TICKET_CATEGORY_P, axis=1)[state][:, :-1]).sum(
        1
    )
    severity = 1 + (rng.random(m)[:, None] >= np.cumsum(_SEVERITY_P, axis=1)[state][:, :-1]).sum(1)
    hours = _RESOLUTION_HOURS[severity - 1] * _RESOLUTION_STATE[state] * rng.lognormal(0.0, 0.8, m)
    resolved = created + (np.round(hours * 3600) * 1_000_000_000).astype("timedelta64[ns]")
    data_end = np.datetime64(DEMO_END, "D").astype("datetime64[ns]") + np.timedelta64(1, "D")
    resolved = np.where(resolved < data_end, resolved, np.datetime64("NaT", "ns"))
    score = _SATISFACTION_MEAN[state] - 0.3 * (severity - 1) + rng.normal(0.0, 0.8, m)
    answered = (rng.random(m) < _ANSWER_P[state]) & ~np.isnat(resolved)
    satisfaction = np.where(answered, np.clip(np.round(score), 1.0, 5.0), np.nan)
    order = np.lexsort((who, created))
    return pa.table(
        {
            "ticket_id": pa.array(np.arange(1, m + 1, dtype=np.int64)),
            "customer_id": strings(who[order], customer_ids),
            "created_ts": timestamps(created[order]),
            "resolved_ts": timestamps(resolved[order]),
            "category": strings(category[order], _TICKET_CATEGORIES),
            "severity": pa.array(severity[order].astype(np.int64)),
            "satisfaction": pa.array(satisfaction[order], from_pandas=False),
        }
    )


def _churn_truth(
    parts: list[tuple[int, np.ndarray, np.ndarray]],
    days: np.ndarray,
    customer_ids: list[str],
    signup: np.ndarray,
    fee: np.ndarray,
    annual: np.ndarray,
    churn_day: np.ndarray,
) -> pa.Table:
    last = len(days) - 1
    who_parts, t_parts, p_parts, o_parts = [], [], [], []
    for t, who, z, belief in parts:
        order = np.argsort(who)
        who, z, belief = who[order], z[order], belief[order]
        who_parts.append(who)
        t_parts.append(np.full(len(who), t))
        by_state = churn_probability_by_state(fee[who], annual[who], t - signup[who])
        p_parts.append(by_state[np.arange(len(who)), z.astype(np.int64)])
        o_parts.append((belief * by_state).sum(axis=1))
    who = np.concatenate(who_parts) if who_parts else np.zeros(0, np.int64)
    t0 = np.concatenate(t_parts) if t_parts else np.zeros(0, np.int64)
    prob = np.concatenate(p_parts) if p_parts else np.zeros(0)
    observable = np.concatenate(o_parts) if o_parts else np.zeros(0)
    complete = t0 + HORIZON_DAYS - 1 <= last
    churn = churn_day[who]
    churned = complete & (churn >= t0) & (churn <= t0 + HORIZON_DAYS - 1)
    return pa.table(
        {
            "customer_id": strings(who, customer_ids),
            "snapshot_date": timestamps(as_ns(days[t0])),
            "horizon_days": pa.array(np.full(len(who), HORIZON_DAYS, dtype=np.int64)),
            "true_churn_probability": pa.array(prob),
            "observable_churn_probability": pa.array(observable),
            "churned_within_horizon": pa.array(churned),
            "horizon_complete": pa.array(complete),
        }
    )
