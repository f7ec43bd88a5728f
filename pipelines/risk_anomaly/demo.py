"""The risk step of ``kpredict demo``: train the detector, score the last week, show the alerts."""

from __future__ import annotations

from typing import Any

from kpredict.pipeline import DemoContext
from kpredict.pipelines.risk_anomaly.train import load_labels

__all__ = ["run"]

#: the demo scores the week before its date
WINDOW = "7d"


def _measured(m: dict[str, float]) -> str:
    found = m.get("holdout_recall_at_budget")
    if found is None:
        return f"{m['holdout_alerts_per_day']:.0f} alerts a day on the holdout"
    return (
        f"holdout recall at a budget of the known anomalies {found:.0%} "
        f"(IsolationForest on the raw columns {m['baseline_holdout_recall_at_budget']:.0%}), {m['holdout_alerts_per_day']:.0f} alerts a day"
    )


def run(context: DemoContext) -> dict[str, Any]:
    """Train on the demo company's payments, score the week before the demo date, print the alerts."""
    result = context.train(_measured)
    scored = context.score(window=WINDOW)
    alerts = scored.companions["alerts"]
    line = f"scored {len(scored.frame):,} payments of the {WINDOW} before {context.as_of}: {int(scored.frame['is_alert'].sum()):,} alerts, {len(alerts):,} after one per account a day"
    labels = load_labels(context.config)
    if labels is not None:
        in_window = scored.frame["txn_id"].isin(labels.loc[labels["is_anomaly"], "txn_id"]).to_numpy()
        if in_window.any():
            line += f"; they catch {scored.frame['is_alert'].to_numpy()[in_window].mean():.0%} of the {int(in_window.sum())} known anomalies"
    context.console.print(line + f" -> {scored.companion_paths['alerts']}")
    context.print_table(
        "Most severe alerts", ["account", "time", "score", "severity", "top reason"],
        ([r.account_id, str(r.ts), f"{r.anomaly_score:.4f}", r.severity, r.reason_1_en or "-"] for r in alerts.head(5).itertuples()),
    )
    return {"training": result, "scores": scored, "alerts": scored.companion_paths["alerts"]}
