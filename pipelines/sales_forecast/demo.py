"""The sales-forecast step of ``kpredict demo``: train, forecast from the demo date, show the largest orders."""

from __future__ import annotations

from typing import Any

from kpredict.pipeline import DemoContext

__all__ = ["run"]


def _measured(m: dict[str, float]) -> str:
    return (
        f"{int(m['series'])} series, holdout MASE {m['holdout_mase']:.3f} (SeasonalNaive {m['baseline_holdout_mase']:.3f}), "
        f"WAPE {m['holdout_wape']:.1%} (SeasonalNaive {m['baseline_holdout_wape']:.1%}), 95 % interval coverage {m['holdout_coverage_95']:.1%}"
    )


def run(context: DemoContext) -> dict[str, Any]:
    """Train the sales forecaster, forecast from the demo date and write the replenishment table."""
    result = context.train(_measured)
    scored = context.score()
    replenishment = scored.companion_paths["replenishment"]
    context.console.print(f"forecast {scored.counts['rows']:,} store x product x day rows from {context.as_of} -> {scored.output}")
    context.console.print(f"replenishment table ({scored.counts['replenishment_rows']:,} series) -> {replenishment}")
    orders = scored.companions["replenishment"].sort_values("order_quantity", ascending=False).head(5)
    context.print_table(
        "Largest orders", ["store", "product", "lead-time demand", "safety stock", "on hand", "order"],
        ([r.store_id, r.product_id, f"{r.lead_time_demand:.0f}", f"{r.safety_stock:.0f}", f"{r.on_hand:.0f}", f"{r.order_quantity:.0f}"] for r in orders.itertuples()),
    )
    return {"training": result, "scores": scored, "replenishment": replenishment}
