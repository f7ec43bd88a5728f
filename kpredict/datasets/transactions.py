"""Payment accounts and their transactions with injected anomalies (the investigation decision).

The generative story (the ground truth anomaly tests rely on):

* Accounts have a home country, an opening date (about 10 % open during the span; they transact
  only from then on) and a segment that sets their spending level.
* Normal behaviour of an account: a daily rate (the size's mean times a lognormal(sd 0.6) factor
  with mean 1) of transactions on uniformly drawn days; lognormal amounts around an
  account-specific level; a daytime hour-of-day profile (Normal(peak 10-19 h, sd 1.5-3 h) clipped
  to 06:00-23:59); an account-specific mix of channels (card_present / online / atm) and merchant
  categories by channel; the home country for 96 % of transactions and otherwise one of 0-2
  countries the account habitually travels to (no travel countries means always home).
* Anomalies, disjoint, about 0.75 % of all transactions, each marked in ``truth/transactions``:
  ``amount_spike`` (0.25 %): a normal transaction's amount times 10-50.
  ``odd_hour`` (0.2 %): a normal transaction moved to 02:00-04:59 (every account is daytime).
  ``new_geography`` (0.1 %, at most one per account): a normal transaction placed in a country the
  account never uses otherwise (so never before).
  ``velocity_burst`` (0.2 %): extra bursts of 5-15 small online transactions of one account,
  5-60 seconds apart (all within minutes), at home; every transaction of a burst is marked.
* Rows are sorted by ``ts`` (then account, then generation order); ``txn_id`` is the row number
  from 1, so the table is also sorted by ``ts`` then ``txn_id``.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa

from kpredict.datasets._calendar import as_ns, span_days
from kpredict.datasets._io import format_ids, strings, timestamps
from kpredict.datasets._random import stream
from kpredict.datasets._sizes import DemoSize

__all__ = ["TXN_ANOMALY_KINDS", "generate_transactions"]

logger = logging.getLogger(__name__)

TXN_ANOMALY_KINDS = ("", "amount_spike", "odd_hour", "velocity_burst", "new_geography")
_COUNTRIES = (
    "DE", "FR", "NL", "GB", "ES", "IT", "SE", "PL", "BE", "AT",
    "US", "CH", "DK", "IE", "PT", "NO", "FI", "CZ", "GR", "JP", "CA", "AU", "MX", "BR", "TH",
)  # fmt: skip
_HOME_P = np.array([0.22, 0.16, 0.12, 0.14, 0.1, 0.1, 0.06, 0.06, 0.04])
_SEGMENTS = ("retail", "premium", "business")
_SEGMENT_LEVEL = np.array([35.0, 80.0, 250.0])
_CHANNELS = ("card_present", "online", "atm")
_CATEGORIES = (
    "grocery", "restaurants", "fuel", "retail", "health", "entertainment", "travel",
    "online_retail", "digital_services", "utilities", "cash_withdrawal",
)  # fmt: skip
# Merchant-category probabilities by channel (rows: card_present, online, atm).
_CATEGORY_P = np.array(
    [
        [0.32, 0.22, 0.12, 0.18, 0.06, 0.06, 0.04, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.15, 0.4, 0.2, 0.15, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ]
)
_SPIKE_SHARE, _ODD_SHARE, _GEO_SHARE, _BURST_SHARE = 0.0025, 0.002, 0.001, 0.002
_SECOND = 1_000_000_000


def _pick(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of the probability matrix ``p`` (rows sum to 1)."""
    return (rng.random(len(p))[:, None] >= np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)


def generate_transactions(size: DemoSize, seed: int) -> dict[str, pa.Table]:
    """Build ``accounts``, ``transactions`` and ``truth/transactions``."""
    rng = stream(seed, "transactions")
    days = span_days(size.txn_years)
    n_days = len(days)
    n_acc = size.n_accounts
    n_countries = len(_COUNTRIES)

    # --- accounts ---------------------------------------------------------------------------
    home = rng.choice(len(_HOME_P), n_acc, p=_HOME_P / _HOME_P.sum())
    open_offset = -rng.integers(30, 8 * 365, n_acc)
    late = rng.random(n_acc) < 0.1
    open_offset[late] = rng.integers(0, int(0.8 * n_days), late.sum())
    first_day = np.maximum(open_offset, 0)
    n_active = n_days - first_day
    segment = rng.choice(len(_SEGMENTS), n_acc, p=[0.75, 0.18, 0.07])
    rate = size.txns_per_account_day * rng.lognormal(-0.18, 0.6, n_acc)
    log_level = np.log(_SEGMENT_LEVEL[segment]) + rng.normal(0.0, 0.5, n_acc)
    amount_sd = rng.uniform(0.4, 0.8, n_acc)
    peak_hour = rng.uniform(10.0, 19.0, n_acc)
    hour_sd = rng.uniform(1.5, 3.0, n_acc)
    channel_p = rng.dirichlet([6.0, 3.0, 0.7], n_acc)
    # Usual countries: home plus 0-2 travel destinations (distinct, never home).
    n_travel = rng.choice(3, n_acc, p=[0.5, 0.35, 0.15])
    keys = rng.random((n_acc, n_countries))
    keys[np.arange(n_acc), home] = np.inf
    travel = np.argsort(keys, axis=1)[:, :2]
    usual = np.zeros((n_acc, n_countries), dtype=bool)
    usual[np.arange(n_acc), home] = True
    for k in range(2):
        has = n_travel > k
        usual[np.flatnonzero(has), travel[has, k]] = True

    # --- normal transactions (no loop over rows) ---------------------------------------------
    counts = rng.poisson(rate * n_active)
    acct = np.repeat(np.arange(n_acc), counts)
    n = len(acct)
    day = first_day[acct] + (rng.random(n) * n_active[acct]).astype(np.int64)
    hour = np.clip(rng.normal(peak_hour[acct], hour_sd[acct]), 6.0, 23.999)
    second = (hour * 3600).astype(np.int64)
    amount = np.exp(rng.normal(log_level[acct], amount_sd[acct]))
    channel = _pick(channel_p[acct], rng)
    category = _pick(_CATEGORY_P[channel], rng)
    abroad = (rng.random(n) < 0.04) & (n_travel[acct] > 0)
    which = (rng.random(n) * np.maximum(n_travel[acct], 1)).astype(np.int64)
    country = np.where(abroad, travel[acct, np.minimum(which, 1)], home[acct])
    kind = np.zeros(n, dtype=np.int64)

    # --- anomalies on existing transactions (disjoint sets) ----------------------------------
    order = rng.permutation(n)
    k_spike, k_odd = round(_SPIKE_SHARE * n), round(_ODD_SHARE * n)
    spike = order[:k_spike]
    amount[spike] *= rng.uniform(10.0, 50.0, k_spike)
    kind[spike] = 1
    odd = order[k_spike : k_spike + k_odd]
    second[odd] = rng.integers(2 * 3600, 5 * 3600, k_odd)
    kind[odd] = 2
    rest = order[k_spike + k_odd :]
    _, first_of_account = np.unique(acct[rest], return_index=True)
    geo = rest[np.sort(first_of_account)][: min(round(_GEO_SHARE * n), n_acc)]
    allowed_keys = np.where(usual[acct[geo]], -1.0, rng.random((len(geo), n_countries)))
    country[geo] = np.argmax(allowed_keys, axis=1)
    kind[geo] = 4

    # --- velocity bursts: extra rows --------------------------------------------------------
    n_bursts = max(1, round(_BURST_SHARE * n / 10))
    b_acct = rng.choice(n_acc, n_bursts)
    b_size = rng.integers(5, 16, n_bursts)
    b_day = first_day[b_acct] + (rng.random(n_bursts) * n_active[b_acct]).astype(np.int64)
    b_start = rng.integers(8 * 3600, 22 * 3600, n_bursts)
    m = int(b_size.sum())
    burst = np.repeat(np.arange(n_bursts), b_size)
    gap = rng.integers(5, 61, m)
    offset = np.cumsum(gap) - np.repeat(np.cumsum(gap)[np.cumsum(b_size) - b_size], b_size)
    acct = np.concatenate([acct, b_acct[burst]])
    day = np.concatenate([day, b_day[burst]])
    second = np.concatenate([second, b_start[burst] + offset])
    amount = np.concatenate([amount, rng.uniform(1.0, 30.0, m)])
    channel = np.concatenate([channel, np.full(m, 1)])
    category = np.concatenate(
        [category, np.where(rng.random(m) < 0.5, 7, 8)]  # online_retail, digital_services
    )
    country = np.concatenate([country, home[b_acct[burst]]])
    kind = np.concatenate([kind, np.full(m, 3)])

    # --- sort by time, number the rows ------------------------------------------------------
    ts = as_ns(days[day]) + (second * _SECOND).astype("timedelta64[ns]")
    order = np.lexsort((acct, ts))
    total = len(order)
    txn_id = pa.array(np.arange(1, total + 1, dtype=np.int64))
    account_ids = format_ids("A", 6, n_acc)
    kind = kind[order]
    transactions = pa.table(
        {
            "txn_id": txn_id,
            "account_id": strings(acct[order], account_ids),
            "ts": timestamps(ts[order]),
            "amount": pa.array(np.maximum(np.round(amount[order], 2), 0.5)),
            "merchant_category": strings(category[order], _CATEGORIES),
            "country": strings(country[order], _COUNTRIES),
            "channel": strings(channel[order], _CHANNELS),
        }
    )
    truth = pa.table(
        {
            "txn_id": txn_id,
            "is_anomaly": pa.array(kind > 0),
            "anomaly_kind": strings(kind, TXN_ANOMALY_KINDS),
        }
    )
    accounts = pa.table(
        {
            "account_id": pa.array(account_ids, type=pa.string()),
            "home_country": strings(home, _COUNTRIES),
            "opened_date": timestamps(as_ns(days[0] + open_offset.astype("timedelta64[D]"))),
            "segment": strings(segment, _SEGMENTS),
        }
    )
    logger.debug("transactions: %d rows, %d anomalous", total, int((kind > 0).sum()))
    return {"accounts": accounts, "transactions": transactions, "truth/transactions": truth}
