"""The churn step of ``kpredict demo``: train, score every active customer, write the retention list."""

from __future__ import annotations

import time
from typing import Any

from kpredict.pipeline import DemoContext

__all__ = ["run"]


def run(context: DemoContext) -> dict[str, Any]:
    """Train churn on the demo company, score it as of the demo date and write the retention list."""
    from rich.table import Table

    from kpredict.pipelines.churn import PIPELINE
    from kpredict.reports import write_report
    from kpredict.scoring import score

    console = context.console
    started = time.perf_counter()
    result = PIPELINE.train(context.config)
    metrics = result.metrics
    console.print(
        f"trained version {result.model_version} in {time.perf_counter() - started:.0f} s: holdout ROC-AUC "
        f"{metrics['holdout_roc_auc']:.3f} (logistic baseline {metrics['baseline_holdout_roc_auc']:.3f}), "
        f"lift in the top 10 % {metrics['holdout_lift_at_10']:.1f}x; {result.promotion_reason}"
    )
    scored = score("churn", context.as_of, config=context.config, output_dir=context.output_dir)
    bands = scored.frame["risk_band"].value_counts().to_dict()
    console.print(f"scored {len(scored.frame):,} active customers as of {context.as_of} -> {scored.output} (bands {bands})")
    reports = {lang: write_report("churn", context.as_of, lang=lang, output_dir=context.output_dir, config=context.config) for lang in ("en", "zh")}
    for lang, paths in reports.items():
        console.print(f"retention list ({lang}): {paths['xlsx']} and {paths['html']}")
    table = Table("rank", "customer", "probability", "band", "top reason", header_style="bold", title="Riskiest customers")
    for row in scored.frame.sort_values("rank").head(5).itertuples():
        table.add_row(str(row.rank), row.customer_id, f"{row.churn_probability:.0%}", row.risk_band, row.reason_1_en or "-")
    console.print(table)
    return {"training": result, "scores": scored, "reports": reports}
