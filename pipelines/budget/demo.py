"""The budget step of ``kpredict demo``: train the media model, split the demo company's reference
budget over the next weeks, show it beside the current split, and check it against the truth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kpredict.pipeline import DemoContext

__all__ = ["run", "true_gain_captured"]


def _measured(m: dict[str, float]) -> str:
    return (
        f"holdout R² {m['holdout_r2']:.3f} (OLS on the raw spend {m['baseline_holdout_r2']:.3f}), "
        f"NRMSE {m['holdout_nrmse']:.3f} (OLS {m['baseline_holdout_nrmse']:.3f}), {int(m['bootstrap_refits'])} bootstrap refits"
    )


def true_gain_captured(truth: dict[str, Any], weekly: dict[str, float]) -> float:
    """Share of the true optimum's gain over the equal split that a weekly split achieves (1 = optimal)."""
    import numpy as np

    from kpredict.datasets.marketing import CHANNELS, steady_state_response

    response = steady_state_response(np.array([weekly[c] for c in CHANNELS]), truth["channels"])
    return (response - truth["equal_split_response"]) / (truth["optimal_response"] - truth["equal_split_response"])


def run(context: DemoContext) -> dict[str, Any]:
    """Train on the demo company's weekly marketing, recommend the split of its reference budget."""
    result = context.train(_measured)
    truth_path = Path(context.config.data_dir) / "truth" / "marketing.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.is_file() else None
    weeks = context.config.allocation.weeks
    options = {"budget": round(truth["reference_budget"] * weeks, 2)} if truth else {}
    scored = context.score(**options)
    plan, summary = scored.frame, scored.companions["summary"].iloc[0]
    line = (
        f"split {summary['budget']:,.0f} over the next {weeks} weeks: expected KPI from media {summary['expected_kpi']:,.0f} "
        f"vs {summary['expected_kpi_current']:,.0f} with the current split, uplift {summary['expected_uplift']:,.0f} "
        f"(interval {summary['uplift_lo']:,.0f} to {summary['uplift_hi']:,.0f}, better in {summary['probability_better']:.0%} of refits)"
    )
    if truth is not None:
        weekly = {r.channel: r.recommended_spend / weeks for r in plan.itertuples()}
        line += f"; on the true curves it captures {true_gain_captured(truth, weekly):.0%} of the best possible gain over an equal split"
    context.console.print(line + f" -> {scored.output}")
    context.print_table(
        "Recommended split", ["channel", "current", "recommended", "expected uplift", "interval", "marginal ROI"],
        (
            [r.channel, f"{r.current_spend:,.0f}", f"{r.recommended_spend:,.0f}", f"{r.expected_uplift:+,.0f}", f"{r.uplift_lo:+,.0f} .. {r.uplift_hi:+,.0f}", f"{r.marginal_roi:.3f}"]
            for r in plan.itertuples()
        ),
    )
    return {"training": result, "scores": scored, "plan": scored.output}
