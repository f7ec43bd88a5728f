"""The sales-forecast step of ``kpredict demo``: train, forecast from the demo date, show the largest orders."""

from __future__ import annotations

import time
from typing import Any

from kpredict.pipeline import DemoContext

__all__ = ["run"]


def run(context: DemoContext) -> dict[str, Any]:
    """Train the sales forecaster, forecast from the demo date and write the replenishment table."""
    from rich.table import Table

    from kpredict.pipelines.sales_forecast import PIPELINE
    from kpredict.scoring import score

    console = context.console
    started = time.perf_counter()
    result = PIPELINE.train(context.config)
    m = result.metrics
    console.print(
        f"trained version {result.model_version} in {time.perf_counter() - started:.0f} s on {int(m['series'])} series: "
        f"holdout MASE {m['holdout_mase']:.3f} (SeasonalNaive {m['baseline_holdout_mase']:.3f}), WAPE {m['holdout_wape']:.1%} "
        f"(SeasonalNaive {m['baseline_holdout_wape']:.1%}), 95 % interval coverage {m['holdout_coverage_95']:.1%}; {result.promotion_reason}"
    )
    scored = score("sales_forecast", context.as_of, config=context.config, output_dir=context.output_dir)
    replenishment = scored.companion_paths["replenishment"]
    console.print(f"forecast {scored.counts['rows']:,} store x product x day rows from {context.as_of} -> {scored.output}")
    console.print(f"replenishment table ({scored.counts['replenishment_rows']:,} series) -> {replenishment}")
    orders = scored.companions["replenishment"].sort_values("order_quantity", ascending=False).head(5)
    table = Table("store", "product", "lead-time demand", "safety stock", "on hand", "order", header_style="bold", title="Largest orders")
    for row in orders.itertuples():
        table.add_row(row.store_id, row.product_id, f"{row.lead_time_demand:.0f}", f"{row.safety_stock:.0f}", f"{row.on_hand:.0f}", f"{row.order_quantity:.0f}")
    console.print(table)
    return {"training": result, "scores": scored, "replenishment": replenishment}
