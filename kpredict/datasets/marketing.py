"""Weekly marketing spend and a KPI driven by it with known carry-over and saturation (the spend
decision).

The generative story (the ground truth budget tests rely on), for weeks t = 0 .. T-1 (Mondays of
complete Monday-to-Sunday weeks, the last one ending on or before ``DEMO_END``):

* Spend per channel follows realistic flighting: TV, radio and display run in on/off flights,
  search is always on with a yearly swing, social is on most weeks. Spends are rounded to cents.
* Geometric adstock ``a_t = x_t + theta_c * a_{t-1}`` with ``a_{-1} = 0`` and theta in 0.1-0.7.
* Hill saturation ``hill(a) = a^s / (a^s + K^s)``, slope s in 1-3, half saturation ``K`` set to
  0.6-1.4 times the channel's mean adstock over the weeks it is positive.
* ``kpi_t = baseline + trend_per_week * t
  + seasonality_amplitude * cos(2 pi (day_of_year(week_t) - seasonality_peak_day) / 365.25)
  + price_coefficient * (price_index_t - 1) + promo_effect * promo_t
  + sum_c beta_c * hill_c(a_{c,t}) + Normal(0, noise_sd)``.
* The company ran one lift experiment per channel (``marketing_lift_tests``): 50 % more than the
  channel's mean weekly spend when on, for four weeks, at spread-out times before the last 30
  weeks; the lift is the true KPI difference over the test weeks and the 13 weeks after
  (``measured_from`` .. ``measured_to``) plus Normal noise with a standard error of 10 % of it,
  as a well-powered geo test would report. The experiments ran in test regions and are reported
  scaled to the whole business, so ``marketing``'s weekly spend does not include them.
* The truth file also holds the budget answer: for a constant weekly spend x_c the adstock settles
  at ``x_c / (1 - theta_c)``, so the steady-state response is
  ``sum_c beta_c * hill_c(x_c / (1 - theta_c))``. ``optimal_allocation`` maximises it subject to
  ``sum_c x_c = reference_budget`` (the mean weekly total spend) and ``x_c >= 0`` (SLSQP from
  several deterministic starts, best kept); ``equal_split_response`` is the response of
  ``reference_budget / 5`` per channel.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.optimize import minimize

from kpredict.datasets._calendar import DEMO_END, as_ns
from kpredict.datasets._random import stream
from kpredict.datasets._sizes import DemoSize

__all__ = ["CHANNELS", "generate_marketing", "hill", "steady_state_response"]

logger = logging.getLogger(__name__)

CHANNELS = ("tv", "radio", "search", "social", "display")


@dataclass(frozen=True)
class _ChannelSpec:
    theta: tuple[float, float]  # range the carry-over rate is drawn from
    slope: tuple[float, float]  # range of the Hill slope
    beta: float  # KPI units at full saturation (times 0.8-1.2)
    spend: tuple[float, float]  # weekly spend range when on
    flight: tuple[tuple[int, int], tuple[int, int]] | None  # (on, off) weeks; None: always on


_CHANNEL_SPEC = {
    "tv": _ChannelSpec((0.5, 0.7), (2.0, 3.0), 4000.0, (40e3, 90e3), ((3, 8), (2, 8))),
    "radio": _ChannelSpec((0.3, 0.5), (1.5, 2.5), 1500.0, (8e3, 20e3), ((4, 10), (2, 6))),
    "search": _ChannelSpec((0.1, 0.25), (1.0, 1.5), 3000.0, (12e3, 18e3), None),
    "social": _ChannelSpec((0.2, 0.4), (1.2, 2.0), 2000.0, (6e3, 14e3), ((6, 16), (1, 2))),
    "display": _ChannelSpec((0.1, 0.3), (1.0, 2.0), 800.0, (4e3, 10e3), ((2, 6), (2, 8))),
}


def hill(a: np.ndarray, half_saturation: float, slope: float) -> np.ndarray:
    """Hill saturation ``a^s / (a^s + K^s)`` of adstocked spend ``a >= 0`` (0 at a = 0)."""
    powered = np.asarray(a, dtype=np.float64) ** slope
    return powered / (powered + half_saturation**slope)


def steady_state_response(allocation: np.ndarray, channels: dict[str, dict[str, float]]) -> float:
    """Weekly KPI from media when ``allocation`` (in ``CHANNELS`` order) is spent every week."""
    total = 0.0
    for x, name in zip(np.asarray(allocation, dtype=np.float64), CHANNELS, strict=True):
        p = channels[name]
        total += p["beta"] * float(hill(x / (1.0 - p["theta"]), p["half_saturation"], p["slope"]))
    return total


def _weeks(n_weeks: int) -> np.ndarray:
    """Mondays of the last ``n_weeks`` complete weeks ending on or before ``DEMO_END``."""
    last_sunday = DEMO_END - dt.timedelta(days=(DEMO_END.weekday() + 1) % 7)
    last_monday = np.datetime64(last_sunday - dt.timedelta(days=6), "D")
    return last_monday - 7 * np.arange(n_weeks - 1, -1, -1).astype("timedelta64[D]")


def _flighting(
    spec: _ChannelSpec, n_weeks: int, yearly: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Weekly spend: on/off flights with a level per flight, or always on with a yearly swing."""
    lo, hi = spec.spend
    if spec.flight is None:
        return rng.uniform(lo, hi) * (1 + 0.2 * yearly) * rng.lognormal(0.0, 0.08, n_weeks)
    (on_lo, on_hi), (off_lo, off_hi) = spec.flight
    spend = np.zeros(n_weeks)
    t = int(rng.integers(0, off_hi + 1))  # the series starts mid-way through an off period
    while t < n_weeks:
        length = int(rng.integers(on_lo, on_hi + 1))
        spend[t : t + length] = rng.uniform(lo, hi) * rng.lognormal(
            0.0, 0.1, min(length, n_weeks - t)
        )
        t += length + int(rng.integers(off_lo, off_hi + 1))
    return spend


def _adstock(x: np.ndarray, theta: float) -> np.ndarray:
    a = np.empty_like(x)
    carry = 0.0
    for t, value in enumerate(x):  # a loop over weeks (at most a few hundred)
        carry = value + theta * carry
        a[t] = carry
    return a


def _optimise(
    budget: float, channels: dict[str, dict[str, float]], history_share: np.ndarray, seed: int
) -> np.ndarray:
    """Best allocation of ``budget`` over several SLSQP starts (in budget shares, for scaling)."""
    k = len(CHANNELS)

    def loss(share: np.ndarray) -> float:
        return -steady_state_response(budget * np.clip(share, 0.0, None), channels) / 1000.0

    starts = [np.full(k, 1.0 / k), history_share]
    for c in range(k):
        start = np.full(k, 0.4 / (k - 1))
        start[c] = 0.6
        starts.append(start)
    starts += list(stream(seed, "marketing.optimiser").dirichlet(np.ones(k), 8))
    best, best_value = np.full(k, 1.0 / k), loss(np.full(k, 1.0 / k))
    for start in starts:
        result = minimize(
            loss,
            start,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * k,
            constraints=[{"type": "eq", "fun": lambda s: np.sum(s) - 1.0}],
            options={"maxiter": 500, "ftol": 1e-12},
        )
        share = np.where(result.x > 1e-9, result.x, 0.0)  # solver round-off below zero / dust
        share /= share.sum()
        if loss(share) < best_value:
            best, best_value = share, loss(share)
    return budget * best


_LIFT_WEEKS, _LIFT_AFTER, _LIFT_SE = 4, 13, 0.10


def _lift_tests(weeks: np.ndarray, spend: dict[str, np.ndarray], channels: dict[str, dict[str, float]], rng: np.random.Generator) -> pa.Table:
    """One measured experiment per channel (module docstring), dates as weeks of ``weeks``."""
    n = len(weeks)
    latest = n - 30 - _LIFT_WEEKS - _LIFT_AFTER
    starts = rng.permutation(np.linspace(min(20, latest), latest, len(CHANNELS)).astype(np.int64))
    rows: dict[str, list] = {k: [] for k in ("channel", "start", "end", "spend_change", "lift", "lift_se", "measured_from", "measured_to")}
    for start, name in zip(starts, CHANNELS, strict=True):
        p, x = channels[name], spend[name]
        change = round(0.5 * float(x[x > 0].mean()), 2)
        end, last = start + _LIFT_WEEKS - 1, min(start + _LIFT_WEEKS - 1 + _LIFT_AFTER, n - 1)
        changed = x.copy()
        changed[start : end + 1] += change
        moved = p["beta"] * (hill(_adstock(changed, p["theta"]), p["half_saturation"], p["slope"]) - hill(_adstock(x, p["theta"]), p["half_saturation"], p["slope"]))
        true_lift = float(moved[start : last + 1].sum())
        se = _LIFT_SE * abs(true_lift)
        for key, value in (
            ("channel", name), ("start", weeks[start]), ("end", weeks[end]), ("spend_change", change),
            ("lift", round(true_lift + float(rng.normal(0.0, se)), 2)), ("lift_se", round(se, 2)),
            ("measured_from", weeks[start]), ("measured_to", weeks[last]),
        ):
            rows[key].append(value)
    return pa.table({
        key: pa.array(as_ns(np.array(values, dtype="datetime64[D]")), type=pa.timestamp("ns")) if key in ("start", "end", "measured_from", "measured_to") else pa.array(values)
        for key, values in rows.items()
    })


def generate_marketing(size: DemoSize, seed: int) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """Build ``marketing``, ``marketing_lift_tests`` and the ``truth/marketing.json`` content."""
    rng = stream(seed, "marketing")
    weeks = _weeks(size.marketing_weeks)
    n = len(weeks)
    day_of_year = (weeks - weeks.astype("datetime64[Y]")).astype(np.int64) + 1
    peak_day = int(rng.integers(320, 360))  # the KPI peaks in late autumn / December
    yearly = np.cos(2 * np.pi * (day_of_year - peak_day) / 365.25)

    spend: dict[str, np.ndarray] = {}
    channels: dict[str, dict[str, float]] = {}
    media = np.zeros(n)
    for name in CHANNELS:
        spec = _CHANNEL_SPEC[name]
        x = np.round(_flighting(spec, n, yearly, rng), 2)
        theta = float(rng.uniform(*spec.theta))
        slope = float(rng.uniform(*spec.slope))
        a = _adstock(x, theta)
        half = float(rng.uniform(0.6, 1.4) * a[a > 0].mean())
        beta = float(spec.beta * rng.uniform(0.8, 1.2))
        channels[name] = {"theta": theta, "half_saturation": half, "slope": slope, "beta": beta}
        spend[name] = x
        media += beta * hill(a, half, slope)

    kpi_params = {
        "baseline": float(rng.uniform(18e3, 22e3)),
        "trend_per_week": float(rng.uniform(-5.0, 20.0)),
        "seasonality_amplitude": float(rng.uniform(1000.0, 3000.0)),
        "seasonality_peak_day": peak_day,
        "price_coefficient": float(rng.uniform(-10e3, -5e3)),
        "promo_effect": float(rng.uniform(800.0, 2000.0)),
        "noise_sd": float(rng.uniform(300.0, 600.0)),
    }
    price_index = np.round(1.0 + np.cumsum(rng.normal(0.0, 0.004, n)) + rng.normal(0.0, 0.01, n), 4)
    promo = rng.random(n) < 0.12
    kpi = (
        kpi_params["baseline"]
        + kpi_params["trend_per_week"] * np.arange(n)
        + kpi_params["seasonality_amplitude"] * yearly
        + kpi_params["price_coefficient"] * (price_index - 1.0)
        + kpi_params["promo_effect"] * promo
        + media
        + rng.normal(0.0, kpi_params["noise_sd"], n)
    )

    totals = np.sum([spend[c] for c in CHANNELS], axis=0)
    budget = float(np.round(totals.mean(), 2))
    history_share = np.array([spend[c].sum() for c in CHANNELS]) / totals.sum()
    optimum = _optimise(budget, channels, history_share, seed)
    table = pa.table(
        {
            "week": pa.array(as_ns(weeks), type=pa.timestamp("ns")),
            **{f"spend_{c}": pa.array(spend[c]) for c in CHANNELS},
            "price_index": pa.array(price_index),
            "promo": pa.array(promo),
            "kpi": pa.array(np.round(kpi, 2)),
        }
    )
    truth = {
        "channels": channels,
        "kpi": kpi_params,
        "adstock": "geometric: a_t = x_t + theta * a_{t-1}, a_{-1} = 0",
        "saturation": "hill: a^slope / (a^slope + half_saturation^slope)",
        "kpi_formula": (
            "baseline + trend_per_week * t + seasonality_amplitude * cos(2 pi (day_of_year(week)"
            " - seasonality_peak_day) / 365.25) + price_coefficient * (price_index - 1)"
            " + promo_effect * promo + sum_c beta_c * hill_c(adstock_c) + Normal(0, noise_sd);"
            " t = week number from 0; kpi rounded to cents"
        ),
        "response_formula": "sum_c beta_c * hill_c(x_c / (1 - theta_c)), x = constant weekly spend",
        "reference_budget": budget,
        "optimal_allocation": {c: float(x) for c, x in zip(CHANNELS, optimum, strict=True)},
        "optimal_response": steady_state_response(optimum, channels),
        "equal_split_response": steady_state_response(
            np.full(len(CHANNELS), budget / len(CHANNELS)), channels
        ),
    }
    lift_tests = _lift_tests(weeks, spend, channels, stream(seed, "marketing.lift_tests"))
    logger.debug("marketing: %d weeks, reference budget %.0f", n, budget)
    return {"marketing": table, "marketing_lift_tests": lift_tests}, truth
