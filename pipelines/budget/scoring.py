"""How the budget model plugs into the one scoring interface: a whole-input plugin.

``kpredict score budget --as-of DATE [--budget AMOUNT] [--weeks N] [--scenario FILE]`` reads the
spend before the date, recommends the split of the budget over the next weeks that the model
expects to return most (within the config's limits, past spend's carry-over included), and
compares it with the current split at the same budget: per channel the current and recommended
spend, the KPI expected from it, the uplift with its interval from the bootstrap refits, and the
marginal ROI. Companion tables: ``summary`` (the plan's totals) and, with ``--scenario``,
``scenarios`` (each candidate plan's expected KPI with its interval).

Decision: "current spend" is the current split (the average week of the last ``weeks`` weeks)
scaled to the budget, so both columns sum to the budget and the uplift is what re-allocating
alone gains; the last weeks' actual spend is the ``last_period_spend`` column.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kpredict.pipelines.budget.data import load_marketing
from pydantic import Field

from kpredict.config.loader import ConfigModel
from kpredict.errors import ConfigError, DataNotFoundError, SchemaError
from kpredict.hashing import frame_hash
from kpredict.modeling.allocation import AllocationProblem, allocate, allocate_cautiously, allocate_on_refits, plan_effects
from kpredict.scoring.plugin import FrameScoring, Scored, ScoringContext

__all__ = ["PLUGIN", "BudgetParams", "BudgetScoring", "allocation_bounds", "read_scenarios", "recommend"]

logger = logging.getLogger(__name__)


class BudgetParams(ConfigModel):
    """``--budget AMOUNT --weeks N --scenario FILE --table SHEET``."""

    budget: float | None = Field(None, gt=0, allow_inf_nan=False, description="total spend over the horizon (default: the last weeks' spend)")
    weeks: int | None = Field(None, ge=1, le=520, description="planning horizon in weeks (default: allocation.weeks of the config)")
    scenario: str | None = Field(None, description="CSV or parquet of candidate plans: a plan column and one spend column per channel (spend over the horizon)")
    table: str | None = Field(None, description="a model trained from a spend sheet: plan from this later sheet (same columns) instead of its training sheet")


def allocation_bounds(
    config: Any, channels: list[str], current_weekly: np.ndarray, past_share: np.ndarray | None = None, weekly_budget: float | None = None,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Weekly bounds per channel: the config's minimums and maximums, narrowed by the change limit
    and by ``share_range`` around each channel's share of past spend (``past_share``) of the
    weekly budget, widened to hold the ``reference`` split. Where the share range and an explicit
    minimum or maximum disagree, the explicit one wins: the user named it; where the range would
    leave no split that sums to the budget, it is dropped (with a warning)."""
    a = config.allocation
    unknown = sorted((set(a.min_weekly) | set(a.max_weekly)) - set(channels))
    if unknown:
        raise ConfigError(f"allocation bounds name channel(s) {unknown} the model does not have; its channels are {channels}")
    user_lower = np.array([a.min_weekly.get(c, 0.0) for c in channels], dtype=np.float64)
    user_upper = np.array([a.max_weekly.get(c, np.inf) for c in channels], dtype=np.float64)
    lower, upper = user_lower.copy(), user_upper.copy()
    if a.max_change is not None:
        lower = np.maximum(lower, current_weekly * (1 - a.max_change))
        upper = np.minimum(upper, current_weekly * (1 + a.max_change))
    if a.share_range is not None and past_share is not None and weekly_budget is not None:
        low, high = a.share_range[0] * past_share * weekly_budget, a.share_range[1] * past_share * weekly_budget
        if reference is not None:  # keeping the current split is always allowed
            low, high = np.minimum(low, reference), np.maximum(high, reference)
        ranged_lower = np.minimum(np.maximum(lower, low), np.maximum(user_upper, user_lower))
        ranged_upper = np.maximum(np.minimum(upper, high), user_lower)
        if ranged_lower.sum() <= weekly_budget <= ranged_upper.sum():
            return ranged_lower, ranged_upper
        # the range is a default, not a request: it gives way rather than make the user's own bounds infeasible
        logger.warning("allocation.share_range %s cannot hold with the explicit bounds and this budget; it is not applied", list(a.share_range))
    return lower, upper


def recommend(estimator: Any, problem: AllocationProblem, allocation: Any) -> tuple[np.ndarray, str, str]:
    """The recommended weekly split, what it maximised (for the summary) and the centre its
    readings use: the kept model's KPI by default, the KPI averaged over the bootstrap refits with
    ``average_refits``, or a low quantile of it with ``risk_quantile``.

    Why the kept model's by default: it has the refits' median carry-over and saturation
    (``median_params``). Measured on demo seeds 0-7 with the true curves, its split within
    ``share_range`` captures on average 91.7 % of the true optimum's gain over an equal split, the
    refits' average 89.8 %, the best trial's model 77 % (without the range the best trial's split
    was worse than the equal split on 4 of 8 seeds: it extrapolates its curves)."""
    if allocation.risk_quantile is not None:
        return allocate_cautiously(estimator.point, estimator.refits, problem, allocation.risk_quantile, seed=allocation.seed), f"quantile {allocation.risk_quantile:g}", "point"
    if allocation.average_refits and len(estimator.refits):
        return allocate_on_refits(estimator.point, estimator.refits, problem, seed=allocation.seed), "expected over refits", "mean"
    if allocation.average_refits:
        logger.warning("the model has no bootstrap refits (bootstrap.n_boot: 0): the split maximises the single model's KPI")
    return allocate(estimator.point, problem, seed=allocation.seed), "expected", "point"


def read_scenarios(path: str | Path, channels: list[str]) -> pd.DataFrame:
    """Candidate plans: ``plan`` and one spend column per channel (spend over the horizon).

    Raises:
        DataNotFoundError: no such file. ConfigError / SchemaError: another format, unknown or
        missing channel columns, spend that is negative or not a number.
    """
    from kpredict.scoring.input_file import read_table

    path = Path(path)
    plans = read_table(path, role="scenario file")
    if "plan" not in plans.columns:
        raise SchemaError(f"scenario file {path.name!r} needs a 'plan' column naming each plan; it has {list(plans.columns)}")
    unknown = [c for c in plans.columns if c != "plan" and c not in channels]
    missing = [c for c in channels if c not in plans.columns]
    if unknown or missing:
        raise SchemaError(
            f"scenario file {path.name!r}: columns must be 'plan' and the channels {channels}"
            + (f"; unknown: {unknown}" if unknown else "") + (f"; missing: {missing}" if missing else "")
        )
    if plans.empty:
        raise SchemaError(f"scenario file {path.name!r} holds no plans")
    for channel in channels:
        values = pd.to_numeric(plans[channel], errors="coerce")
        if not (values.notna() & np.isfinite(values) & (values >= 0)).all():
            raise SchemaError(f"scenario file {path.name!r}: column {channel!r} must hold spend amounts >= 0 in every plan")
        plans[channel] = values.astype(np.float64)
    plans["plan"] = plans["plan"].astype(str)
    return plans[["plan", *channels]]


class BudgetScoring(FrameScoring):
    """Spend before the date → the recommended split of the budget, its uplift, candidate plans."""

    params_model = BudgetParams

    def score_frame(self, context: ScoringContext, estimator: Any) -> Scored:
        config, meta, params = context.config, context.bundle.meta, context.params
        store = None
        if meta.get("table") is not None:  # a model trained from a spend sheet reads a sheet (--table, else its own)
            from kpredict.pipelines.budget.table import open_table, recorded_table

            config, store, _ = open_table(config.model_copy(update={"table": recorded_table(meta["table"], params.table or (config.table.path if config.table else None))}))
        elif params.table is not None:
            raise ConfigError("--table plans from a spend sheet with a model trained from one; this model was trained on the feature repository")
        channels = list(meta["channels"])
        missing = [c for c in channels if c not in config.channels]
        if missing:
            raise ConfigError(f"the model's channel(s) {missing} are not in the config's channels {sorted(config.channels)}")
        if context.engine == "dask":
            logger.info("the budget plan is one small optimisation over %d channels: it runs in this process whatever the engine", len(channels))
        plans = read_scenarios(params.scenario, channels) if params.scenario is not None else None  # a bad file fails before the solve
        store = store or config.open_store()
        frame = load_marketing(config, store, before=context.as_of if config.time_column else None)
        weeks = params.weeks or config.allocation.weeks
        spend = frame[channels].to_numpy(dtype=np.float64)
        max_lag = int(meta["max_lag"])
        history = spend[-max_lag:] if max_lag else np.zeros((0, len(channels)))
        recent = spend[-weeks:] if config.time_column else spend
        current_weekly = recent.mean(axis=0)
        budget = params.budget if params.budget is not None else float(current_weekly.sum() * weeks)
        if current_weekly.sum() <= 0 and params.budget is None:
            raise DataNotFoundError(f"no spend in the {weeks} week(s) before {context.as_of.date()}; pass --budget")
        reference = current_weekly / current_weekly.sum() * budget / weeks if current_weekly.sum() > 0 else np.full(len(channels), budget / weeks / len(channels))
        past_share = spend.sum(axis=0) / spend.sum() if spend.sum() > 0 else None
        lower, upper = allocation_bounds(config, channels, current_weekly, past_share, budget / weeks, reference)
        problem = AllocationProblem(budget, weeks, lower, upper, history, reference)
        recommended, objective, center = recommend(estimator, problem, config.allocation)

        expected, kpi_lo, kpi_hi = estimator.plan_effects(problem, recommended, center)
        current_kpi = estimator.plan_effects(problem, reference, center)[0][0]  # no interval is shown for it
        reading = estimator.difference_reading(problem, recommended, reference)
        uplift, uplift_lo, uplift_hi = estimator.spread(reading, center)
        draws = estimator.draws(reading)
        table = pd.DataFrame({
            "channel": channels,
            "current_spend": reference * weeks,
            "recommended_spend": recommended * weeks,
            "change": (recommended - reference) * weeks,
            "last_period_spend": current_weekly * weeks,
            "expected_kpi": expected[0],
            "kpi_lo": kpi_lo[0],
            "kpi_hi": kpi_hi[0],
            "expected_uplift": uplift[:-1],
            "uplift_lo": uplift_lo[:-1],
            "uplift_hi": uplift_hi[:-1],
            "marginal_roi": estimator.marginal_roi(problem, recommended, center=center),
        })
        shares = meta.get("contribution_shares")  # models trained before the shares were recorded have none
        if shares is not None:
            for position, column in enumerate(("contribution_share", "contribution_share_lo", "contribution_share_hi")):
                table[column] = [float(shares[c][position]) for c in channels]
        summary = pd.DataFrame([{
            "budget": budget, "weeks": weeks, "expected_kpi": float(expected[0].sum()), "expected_kpi_current": float(current_kpi.sum()),
            "expected_uplift": float(uplift[-1]), "uplift_lo": float(uplift_lo[-1]), "uplift_hi": float(uplift_hi[-1]),
            "probability_better": float((draws[:, -1] > 0).mean()) if len(draws) else float("nan"),
            "refits": len(estimator.refits),
            "objective": objective,
        }])
        companions = {"summary": summary}
        if plans is not None:
            companions["scenarios"] = self._scenarios(estimator, problem, plans, weeks, current_kpi.sum(), center)
        info = {
            "data_dir": str(config.data_dir) if config.table is None else str(config.table.path), "history_rows": len(frame), "data_hash": frame_hash(frame),
            "history_end": str(frame[config.time_column].max().date()) if config.time_column else None,
            "budget": budget, "weeks": weeks,
        }
        return Scored(table, info, companions)

    @staticmethod
    def _scenarios(estimator: Any, problem: AllocationProblem, plans: pd.DataFrame, weeks: int, current_total: float, center: str) -> pd.DataFrame:
        weekly = plans[estimator.channels].to_numpy(dtype=np.float64) / weeks
        point, low, high = estimator.spread(lambda model: plan_effects(model, problem, weekly).sum(axis=1), center)
        out = plans.copy()
        out["total_spend"] = weekly.sum(axis=1) * weeks
        out["expected_kpi"] = point
        out["kpi_lo"] = low
        out["kpi_hi"] = high
        out["expected_uplift"] = point - current_total
        return out


PLUGIN = BudgetScoring()
