"""The churn step of ``kpredict demo``: train and score every active customer (the retention list is\npart of the business report the demo writes last)."""

from __future__ import annotations

from typing import Any

from kpredict.pipeline import DemoContext

__all__ = ["run"]


def run(context: DemoContext) -> dict[str, Any]:
    """Train churn on the demo company and score it as of the demo date."""
    result = context.train(
        lambda m: f"churners found among the {context.config.decision.capacity} riskiest (the gate): LightGBM {m['holdout_recall_at_capacity']:.1%}, "
        f"logistic baseline {m['baseline_holdout_recall_at_capacity']:.1%}; serving "
        f"{'the logistic model' if m['served_logistic'] else 'LightGBM'} "
        f"(it ranked the validation list better); holdout ROC-AUC {m['holdout_roc_auc']:.3f} (logistic {m['baseline_holdout_roc_auc']:.3f})"
    )
    scored = context.score()
    bands = scored.frame["risk_band"].value_counts().to_dict()
    context.console.print(f"scored {len(scored.frame):,} active customers as of {context.as_of} -> {scored.output} (bands {bands})")
    riskiest = scored.frame.sort_values("rank").head(5)
    context.print_table(
        "Riskiest customers", ["rank", "customer", "probability", "band", "top reason"],
        ([str(r.rank), r.customer_id, f"{r.churn_probability:.0%}", r.risk_band, r.reason_1_en or "-"] for r in riskiest.itertuples()),
    )
    return {"training": result, "scores": scored}
